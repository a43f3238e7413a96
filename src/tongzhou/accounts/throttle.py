"""Sign-in throttling: after repeated failures an account (or an address) waits.

Counted in the database, so it holds across processes and restarts. Five failures for one
username, or thirty from one address, within 15 minutes lock further attempts until the
oldest of them leaves the window; a successful sign-in clears that username's count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import SignInFailure
from tongzhou.errors import UserError
from tongzhou.text import clean

WINDOW = dt.timedelta(minutes=15)
PER_USERNAME = 5
PER_ADDRESS = 30


def client_ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def check_sign_in_allowed(username: str, request: HttpRequest | None) -> None:
    since = timezone.now() - WINDOW
    recent = SignInFailure.objects.filter(created_at__gte=since)
    ip = client_ip(request)
    if recent.filter(username=(username or "").lower()).count() >= PER_USERNAME or (
        ip and recent.filter(ip=ip).count() >= PER_ADDRESS
    ):
        raise UserError(
            "too_many_attempts",
            _("Too many failed sign-ins. Please wait 15 minutes and try again."),
            429,
        )


@receiver(user_login_failed)
def record_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    SignInFailure.objects.create(
        username=clean(str(credentials.get("username", ""))).lower()[:150], ip=client_ip(request)
    )
    SignInFailure.objects.filter(created_at__lt=timezone.now() - WINDOW).delete()


@receiver(user_logged_in)
def clear_failures(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    SignInFailure.objects.filter(username=user.username.lower()).delete()
