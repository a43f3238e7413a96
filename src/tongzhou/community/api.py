"""One router for community life, made of each feature's router."""

from __future__ import annotations

from ninja import Router

from tongzhou.community import (
    aid_api,
    dm_api,
    events_api,
    feedback_api,
    milestones_api,
    routines_api,
    topics_api,
)

router = Router()
for feature in (
    events_api,
    routines_api,
    milestones_api,
    aid_api,
    feedback_api,
    dm_api,
    topics_api,
):
    router.add_router("/", feature.router)
