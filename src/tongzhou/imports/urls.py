from django.urls import path

from tongzhou.imports import views

app_name = "imports"
urlpatterns = [
    path("groups/<int:gid>/import/", views.start, name="start"),
    path("groups/<int:gid>/import/<int:job_id>/", views.job, name="job"),
    path("groups/<int:gid>/history/", views.history, name="history"),
    path("groups/<int:gid>/history/people/", views.people, name="people"),
    path("groups/<int:gid>/history/review/", views.review, name="review"),
]
