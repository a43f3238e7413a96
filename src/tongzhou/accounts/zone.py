"""Times on pages in the member's own timezone (Profile.timezone; blank: the server's); the
language they read in is kept on their profile for what is worded for them later."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


def valid_zone(name: str) -> bool:
    return name in zones()


_ZONES: set[str] = set()


def zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


class MemberTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = ""
        if user is not None and user.is_authenticated:
            from tongzhou.accounts.models import Profile

            row = Profile.objects.filter(user_id=user.pk).values_list("timezone", "language")
            name, language = row.first() or ("", "")
            reading = getattr(request, "LANGUAGE_CODE", "")
            if reading and reading != language:  # written only when it changes
                Profile.objects.filter(user_id=user.pk).update(language=reading)
        try:
            if name:
                timezone.activate(ZoneInfo(name))
            else:
                timezone.deactivate()
        except (ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
