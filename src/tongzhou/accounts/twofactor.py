"""Two-step sign-in: a password, then a code from an authenticator app (or a recovery code).

pyotp does the RFC 6238 arithmetic; here are only the rules: one code is accepted once,
a clock off by 30 s is forgiven, wrong codes count toward the sign-in lockout, and a server
may require it of leaders and moderators (TONGZHOU_REQUIRE_2FA_FOR_STAFF).
"""

from __future__ import annotations

import hashlib
import secrets

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.actions import check_current_password, end_other_ways_in
from tongzhou.accounts.models import (
    RecoveryCode,
    SignInFailure,
    TotpDevice,
    User,
)
from tongzhou.accounts.throttle import check_sign_in_allowed
from tongzhou.errors import UserError

ISSUER = "Tongzhou"
RECOVERY_CODES = 10


def has_two_factor(user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def staff_must_have_it(user: User) -> None:
    """The server's rule for leaders and moderators, checked wherever they moderate."""
    if settings.REQUIRE_2FA_FOR_STAFF and not has_two_factor(user):
        raise UserError(
            "two_factor_required",
            _(
                "This server asks leaders and moderators to use two-step sign-in. Turn it "
                "on under Profile → Sign-in and security, then come back."
            ),
            403,
        )


def start_setup(user: User) -> TotpDevice:
    if has_two_factor(user):
        raise UserError("two_factor_on", _("Two-step sign-in is already on."), 409)
    device, _created = TotpDevice.objects.update_or_create(
        user=user, defaults={"secret": pyotp.random_base32(), "confirmed_at": None, "last_step": 0}
    )
    return device


def setup_uri(user: User, device: TotpDevice) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_data_uri(scale=6, border=2))


def _matching_step(device: TotpDevice, code: str) -> int | None:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(device.secret)
    now = timezone.now()
    for offset in (0, -1, 1):  # the phone's clock may be a little off
        step = totp.timecode(now) + offset
        if secrets.compare_digest(totp.generate_otp(step), code) and step > device.last_step:
            return int(step)
    return None


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


@transaction.atomic
def confirm_setup(user: User, code: str, *, keep_session_key: str | None = None) -> list[str]:
    """Turn it on once the app shows a right code; returns recovery codes to show once.
    Other sessions and all tokens end, so every way in from now on passed the second step."""
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    if device is None or device.confirmed_at is not None:
        raise UserError("no_setup", _("Start setting up two-step sign-in first."))
    step = _matching_step(device, code)
    if step is None:
        raise UserError(
            "invalid_code", _("That code is not right. Check the time on your phone and try again.")
        )
    device.confirmed_at = timezone.now()
    device.last_step = step
    device.save()
    RecoveryCode.objects.filter(user=user).delete()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, digest=_digest(c)) for c in codes)
    end_other_ways_in(user, keep_session_key=keep_session_key)
    return codes


def verify(user: User, code: str) -> None:
    """A sign-in's second step: an app code or an unused recovery code, or a refusal that
    counts toward the lockout."""
    check_sign_in_allowed(user.username, None)
    with transaction.atomic():
        device = (
            TotpDevice.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=False)
            .first()
        )
        if device is None:
            return
        step = _matching_step(device, code or "")
        if step is not None:
            device.last_step = step
            device.save(update_fields=["last_step"])
            return
        used, _detail = RecoveryCode.objects.filter(user=user, digest=_digest(code or "")).delete()
        if used:
            return
    SignInFailure.objects.create(username=user.username.lower())
    raise UserError("invalid_code", _("That code is not right. Please try again."), 401)


def disable(user: User, password: str, code: str) -> None:
    check_current_password(user, password)
    verify(user, code)
    TotpDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
