from django.urls import path

from tongzhou.insight import views, views_dashboard

app_name = "insight"
urlpatterns = [
    path("groups/<int:gid>/insight/", views_dashboard.dashboard, name="dashboard"),
    path("groups/<int:gid>/research/", views.consent_page, name="consent"),
    path("groups/<int:gid>/research/projects/", views.manage, name="manage"),
    path(
        "groups/<int:gid>/research/projects/<int:pid>/", views.project_admin, name="project_admin"
    ),
    path("research/", views.mine, name="mine"),
    path("research/<int:pid>/", views.workspace, name="workspace"),
    path("research/<int:pid>/code/", views.code, name="code"),
    path("research/<int:pid>/agreement/", views.agreement, name="agreement"),
    path("research/<int:pid>/disagreements/", views.disagreements, name="disagreements"),
    path("research/<int:pid>/suggestions/", views.suggestions, name="suggestions"),
    path("research/<int:pid>/export/", views.export_page, name="export"),
]
