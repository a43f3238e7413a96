from django.urls import include, path

from tongzhou import views
from tongzhou.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("tongzhou.accounts.urls")),
    path("groups/", include("tongzhou.groups.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
]
