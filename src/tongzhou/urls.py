from django.urls import include, path

from tongzhou import health, pwa, views
from tongzhou.api import api
from tongzhou.chat import views as chat_views
from tongzhou.knowledge import views as knowledge_views
from tongzhou.safety import views as safety_views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("tongzhou.accounts.urls")),
    path("groups/", include("tongzhou.groups.urls")),
    path("", include("tongzhou.community.urls")),
    path("", include("tongzhou.imports.urls")),
    path("", include("tongzhou.insight.urls")),
    path("search/", knowledge_views.search_page, name="search"),
    path("notifications/", include("tongzhou.notify.urls")),
    path("help/crisis/", safety_views.crisis_resources, name="crisis_resources"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    # Media is served by Django, never by the web server directly: every fetch is checked.
    path("media/<int:aid>/", chat_views.media_file, name="media"),
    path("media/<int:aid>/thumb", chat_views.media_file, {"variant": "thumb"}, name="media_thumb"),
    path("media/link/<int:mid>", chat_views.link_image, name="media_link"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("offline/", pwa.offline, name="offline"),
    path("favicon.ico", pwa.favicon, name="favicon"),
    path("livez", health.live, name="livez"),
    path("readyz", health.ready, name="readyz"),
    path("metrics", health.prometheus, name="metrics"),
]

handler500 = "tongzhou.health.server_error"
