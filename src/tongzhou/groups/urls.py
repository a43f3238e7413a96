from django.urls import path

from tongzhou.groups import views
from tongzhou.questions import views as questions

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
    path("invite/<str:token>/", views.invite, name="invite"),
]
