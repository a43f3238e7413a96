"""Times on pages in the member's own timezone (Profile.timezone; blank: the server's); the
language they read in is kept on their profile for what is worded for them later."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


def valid_zone(name: str) -> bool:
    return name in zones()


_ZONES: set[str] = set()


def zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def _activate(name: str) -> None:
    try:
        if name:
            timezone.activate(ZoneInfo(name))
        else:
            timezone.deactivate()
    except (ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()


class MemberTimezoneMiddleware:
    """Async-capable: a sync-only middleware here made every request hop to Django's one
    sync thread, so a slow database call held up even /readyz (tests/test_faults.py)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)  # nobody signed in on a page (probes, tokens)
        if self.async_mode:
            return self.__acall__(request)
        user = getattr(request, "user", None)
        name = ""
        if user is not None and user.is_authenticated:
            name = _remember(user.pk, getattr(request, "LANGUAGE_CODE", ""))
        _activate(name)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        user = await request.auser()
        name = ""
        if user.is_authenticated:
            name = await sync_to_async(_remember)(user.pk, getattr(request, "LANGUAGE_CODE", ""))
        _activate(name)
        try:
            response: HttpResponse = await self.get_response(request)
            return response
        finally:
            timezone.deactivate()


def _remember(user_id: int, reading: str) -> str:
    """The member's timezone name; their reading language is kept when it changed."""
    from tongzhou.accounts.models import Profile

    row = Profile.objects.filter(user_id=user_id).values_list("timezone", "language").first()
    name, language = row or ("", "")
    if reading and reading != language:  # written only when it changes
        Profile.objects.filter(user_id=user_id).update(language=reading)
    return name
