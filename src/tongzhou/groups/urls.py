from django.urls import path

from tongzhou.groups import views
from tongzhou.knowledge import views as knowledge
from tongzhou.questions import views as questions
from tongzhou.safety import views as safety

app_name = "groups"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("new/", views.create, name="create"),
    path("<int:gid>/", views.detail, name="detail"),
    path("<int:gid>/chat/", views.chat, name="chat"),
    path("<int:gid>/applications/", views.applications, name="applications"),
    path("<int:gid>/members/", views.members, name="members"),
    path("<int:gid>/settings/", views.group_settings, name="settings"),
    path("<int:gid>/questions/", questions.open_list, name="questions"),
    path("<int:gid>/questions/metrics/", questions.metrics, name="question_metrics"),
    path("<int:gid>/knowledge/", knowledge.index, name="knowledge"),
    path("<int:gid>/knowledge/new/", knowledge.new_entry, name="entry_new"),
    path("<int:gid>/knowledge/guide/", knowledge.guide, name="guide"),
    path("<int:gid>/knowledge/<int:eid>/", knowledge.entry, name="entry"),
    path("<int:gid>/knowledge/<int:eid>/edit/", knowledge.edit_entry, name="entry_edit"),
    path("<int:gid>/knowledge/<int:eid>/history/", knowledge.entry_history, name="entry_history"),
    path("<int:gid>/glossary/", knowledge.glossary, name="glossary"),
    path("<int:gid>/moderation/", safety.moderation, name="moderation"),
    path("<int:gid>/audit/", safety.audit, name="audit"),
    path("<int:gid>/claims/", safety.claims, name="claims"),
    path("invite/<str:token>/", views.invite, name="invite"),
]
