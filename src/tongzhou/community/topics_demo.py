"""Demo content of this feature (to be written): called by community/demo.py."""

from __future__ import annotations

from typing import Any

from tongzhou.accounts.models import User
from tongzhou.groups.models import Group


def seed(group: Group, users: dict[str, User]) -> None:
    """Add this feature's demo content to the demo group (users by demo username)."""


def ids(group: Group) -> dict[str, Any]:
    """Placeholders for the accessibility test's pages ({evid}: the demo event's id, ...)."""
    return {}
