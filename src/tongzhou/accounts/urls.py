from django.contrib.auth import views as auth_views
from django.urls import path

from tongzhou.accounts import views
from tongzhou.accounts.forms import ThrottledAuthenticationForm

app_name = "accounts"
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html",
            redirect_authenticated_user=True,
            authentication_form=ThrottledAuthenticationForm,
        ),
        name="login",
    ),
    path("logout/", views.logout, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("security/", views.security, name="security"),
    path("export/", views.export, name="export"),
    path("delete/", views.delete_account, name="delete"),
]
