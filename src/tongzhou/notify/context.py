"""The unread-notification count in the top bar of every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def unread(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from tongzhou.notify.queries import unread_notification_count

    # A callable: templates call it only where the bar is drawn.
    return {"notify_unread": lambda: unread_notification_count(user.pk)}
