from django.urls import path

from tongzhou.notify import views

app_name = "notify"
urlpatterns = [
    path("", views.notifications, name="list"),
    path("settings/", views.email_settings, name="settings"),
    path("confirm/<str:code>/", views.confirm, name="confirm"),
]
