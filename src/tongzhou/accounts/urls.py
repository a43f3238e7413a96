from django.urls import path

from tongzhou.accounts import views

app_name = "accounts"
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("logout/", views.logout, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("security/", views.security, name="security"),
    path("export/", views.export, name="export"),
    path("delete/", views.delete_account, name="delete"),
]
