"""Community demo content: each feature seeds its own part (<feature>_demo.py)."""

from __future__ import annotations

from typing import Any

from tongzhou.accounts.models import User
from tongzhou.community import (
    aid_demo,
    dm_demo,
    events_demo,
    feedback_demo,
    milestones_demo,
    routines_demo,
    topics_demo,
)
from tongzhou.groups.models import Group

FEATURES = (
    events_demo,
    routines_demo,
    milestones_demo,
    aid_demo,
    feedback_demo,
    dm_demo,
    topics_demo,
)


def seed_community(group: Group, users: dict[str, User]) -> None:
    for feature in FEATURES:
        feature.seed(group, users)


def demo_ids(group: Group) -> dict[str, Any]:
    """Ids of demo objects by access-matrix placeholder, for tests that open every page."""
    found: dict[str, Any] = {}
    for feature in FEATURES:
        found.update(feature.ids(group))
    return found
