"""Community pages: per group under /groups/<gid>/..., the member's own under /today/ and
/messages/. Each feature module lists its own paths."""

from __future__ import annotations

from django.urls import path

from tongzhou.community import (
    aid_views,
    dm_views,
    events_views,
    feedback_views,
    hub,
    milestones_views,
    routines_views,
    topics_views,
)

app_name = "community"

urlpatterns = [
    path("groups/<int:gid>/community/", hub.hub, name="hub"),
    *events_views.urlpatterns,
    *routines_views.urlpatterns,
    *milestones_views.urlpatterns,
    *aid_views.urlpatterns,
    *feedback_views.urlpatterns,
    *dm_views.urlpatterns,
    *topics_views.urlpatterns,
]
