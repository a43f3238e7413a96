"""Actions and queries of this feature (to be written)."""

from __future__ import annotations

import datetime as dt

from tongzhou.community.models import Reminder


def due_reminders(now: dt.datetime) -> list[Reminder]:
    """Reminders of this feature that are due at `now` (reminders.sources); each made with
    reminders.create_once, so a second call makes none."""
    return []
