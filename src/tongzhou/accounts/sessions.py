"""Session engine: Django's database sessions, with the owner and device on the row."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

# Kept in the session data by accounts.signals at sign-in; copied to columns on each save.
DEVICE_KEY = "_tz_device"
STARTED_KEY = "_tz_started"
SEEN_KEY = "_tz_seen"


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls) -> Any:
        from tongzhou.accounts.models import UserSession

        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        obj: Any = super().create_model_instance(data)
        try:
            obj.user_id = int(data.get("_auth_user_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            obj.user_id = None
        obj.device = str(data.get(DEVICE_KEY, ""))[:60]
        obj.started_at = _when(data.get(STARTED_KEY))
        obj.seen_at = _when(data.get(SEEN_KEY)) or obj.started_at
        return obj


def _when(value: object) -> dt.datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


_BROWSERS = (
    ("MicroMessenger", "WeChat"),
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "Mac"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """ "Chrome on Android": enough for a person to recognise their own phone."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if not browser and not system:
        # An app or script: its first word ("python-httpx/0.27"), without version noise.
        first = re.split(r"[\s/]", user_agent.strip(), maxsplit=1)[0]
        return first[:40]
    return f"{browser} · {system}".strip(" ·")


def mark_started(session: Any, user_agent: str) -> None:
    now = timezone.now().isoformat()
    session[DEVICE_KEY] = device_label(user_agent)
    session[STARTED_KEY] = now
    session[SEEN_KEY] = now


SEEN_EVERY = dt.timedelta(minutes=5)


def mark_seen(session: Any) -> None:
    """Refresh "last active" at most every few minutes, so most requests write nothing."""
    seen = _when(session.get(SEEN_KEY))
    now = timezone.now()
    if seen is None or now - seen > SEEN_EVERY:
        session[SEEN_KEY] = now.isoformat()


@receiver(user_logged_in)
def on_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        mark_started(request.session, request.headers.get("user-agent", ""))


class SeenMiddleware:
    """Keeps each session's "last active" roughly current for the sessions list."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and request.session.session_key:
            mark_seen(request.session)
        return self.get_response(request)
