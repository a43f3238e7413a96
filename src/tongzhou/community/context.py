"""Counts in the top bar of every page: reminders not yet read, direct messages unread."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def counts(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def reminders() -> int:
        from tongzhou.community.models import Reminder

        return Reminder.objects.filter(user_id=user.pk, read_at__isnull=True).count()

    def direct() -> int:
        from tongzhou.community.dm import unread_dm_count

        return unread_dm_count(user.pk)

    # Callables: templates call them only where the bar is drawn.
    return {"reminders_unread": reminders, "dm_unread": direct}
