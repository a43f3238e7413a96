from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import HASH_SESSION_KEY, password_validation
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import (
    HEALTH_FIELDS,
    ApiToken,
    Consent,
    Phase,
    Profile,
    Role,
    SignInFailure,
    TextSize,
    User,
    UserSession,
    Visibility,
)
from tongzhou.accounts.throttle import check_sign_in_allowed
from tongzhou.accounts.zone import valid_zone
from tongzhou.errors import UserError, parse_id
from tongzhou.realtime import recheck_sockets_on_commit
from tongzhou.text import clean

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")


def check_display_name(value: str | None) -> str:
    """1 to 40 characters, and no contact details or advertising (a salesman's first move)."""
    from tongzhou.safety.spam import spam_signals

    name = clean(value or "")
    if not name or len(name) > 40:
        raise UserError("invalid_display_name", _("Choose a display name of 1 to 40 characters."))
    if any(s.startswith(("contact", "link")) or s == "private" for s in spam_signals(name)):
        raise UserError(
            "invalid_display_name",
            _(
                "A display name cannot hold contact details, links or invitations to talk privately."
            ),
        )
    return name


def check_register(username: str, password: str, display_name: str) -> None:
    if not USERNAME_RE.match(username or ""):
        raise UserError(
            "invalid_username",
            _("A username has 3 to 30 letters, digits, dots, dashes or underscores."),
        )
    check_display_name(display_name)
    if User.objects.filter(username__iexact=username).exists():
        raise UserError("username_taken", _("That username is taken. Please choose another."))
    try:
        password_validation.validate_password(password, User(username=username))
    except ValidationError as e:
        raise UserError("weak_password", " ".join(e.messages)) from e


def do_register(username: str, password: str, display_name: str) -> User:
    check_register(username, password, display_name)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, password=password, display_name=clean(display_name)
            )
            Profile.objects.create(user=user)
    except IntegrityError as e:  # a concurrent sign-up took the name
        raise UserError(
            "username_taken", _("That username is taken. Please choose another.")
        ) from e
    return user


def profile_of(user: User) -> Profile:
    profile, _created = Profile.objects.get_or_create(user=user)
    return profile


def has_health_consent(user: User) -> bool:
    return Consent.objects.filter(
        user=user, kind=Consent.Kind.HEALTH_DATA, withdrawn_at__isnull=True
    ).exists()


def require_health_consent(user: User, given: bool | None) -> None:
    """Health details are kept only after a separate, explicit yes (GDPR Art. 9, PIPL)."""
    if has_health_consent(user):
        return
    if given is not True:
        raise UserError(
            "consent_required",
            _(
                "Before you enter health details, please tick the box to agree to how "
                "Tongzhou keeps them."
            ),
        )
    Consent.objects.create(user=user, kind=Consent.Kind.HEALTH_DATA)


@transaction.atomic
def do_withdraw_health_consent(user: User) -> None:
    """No more consent, no more health details: the profile's and every application's."""
    from tongzhou.groups.models import Application

    Consent.objects.filter(
        user=user, kind=Consent.Kind.HEALTH_DATA, withdrawn_at__isnull=True
    ).update(withdrawn_at=timezone.now())
    profile = profile_of(user)
    for field in HEALTH_FIELDS:
        setattr(profile, field, None if field == "diagnosis_year" else "")
    profile.save(update_fields=list(HEALTH_FIELDS))
    for app in Application.objects.filter(user=user):
        app.diagnosis = app.hospital = app.stage = ""
        app.save(update_fields=["diagnosis", "hospital", "stage"])


@transaction.atomic  # a refusal of any field leaves the whole profile as it was
def do_update_profile(user: User, data: dict[str, Any]) -> Profile:
    """Apply the given profile fields; unknown keys are refused, not ignored."""
    profile = profile_of(user)
    data = dict(data)
    consent_given = data.pop("health_consent", None)
    allowed = set(HEALTH_FIELDS) | {f"{f}_visibility" for f in HEALTH_FIELDS} | {"role"}
    allowed |= {"display_name", "credit_in_knowledge", "region", "text_size", "high_contrast"}
    allowed |= {"timezone", "share_streaks", "dm_open"}
    unknown = set(data) - allowed
    if unknown:
        raise UserError(
            "unknown_field", _("Unknown profile field: %(f)s") % {"f": sorted(unknown)[0]}
        )
    changed: list[str] = []
    for key, value in data.items():
        if key in ("credit_in_knowledge", "high_contrast", "share_streaks", "dm_open"):
            if not isinstance(value, bool):
                raise UserError("invalid_input", _("Choose yes or no."))
            setattr(profile, key, value)
            changed.append(key)
            continue
        ok_types: tuple[type, ...] = (str, int) if key == "diagnosis_year" else (str,)
        if value is not None and (isinstance(value, bool) or not isinstance(value, ok_types)):
            raise UserError("invalid_input", _("Profile answers are text."))
        if key == "display_name":
            user.display_name = check_display_name(value)
            user.save(update_fields=["display_name"])
            continue
        if key == "region":
            from tongzhou.safety.resources import regions

            if value not in ("", *regions()):
                raise UserError("invalid_region", _("Choose where you live from the list."))
        if key == "timezone" and value not in ("", None) and not valid_zone(str(value)):
            raise UserError("invalid_timezone", _("Choose a timezone from the list."))
        if key == "text_size" and value not in TextSize.values:
            raise UserError("invalid_text_size", _("Choose a text size from the list."))
        if key == "role" and value not in Role.values:
            raise UserError("invalid_role", _("Choose a role from the list."))
        if key == "phase" and value not in [*Phase.values, ""]:
            raise UserError("invalid_phase", _("Choose a treatment phase from the list."))
        if key.endswith("_visibility") and value not in Visibility.values:
            raise UserError("invalid_visibility", _("Choose who may see this from the list."))
        if key == "diagnosis_year" and value not in (None, ""):
            try:
                value = int(str(value))
            except (TypeError, ValueError) as e:
                raise UserError("invalid_year", _("Enter the year of diagnosis, e.g. 2021.")) from e
            if not 1900 <= value <= 2100:
                raise UserError("invalid_year", _("Enter the year of diagnosis, e.g. 2021."))
        if key == "diagnosis_year" and value == "":
            value = None
        if value is None and key != "diagnosis_year":
            value = ""  # null clears a text field
        if isinstance(value, str):
            value = clean(value)
            max_len = getattr(Profile._meta.get_field(key), "max_length", None) or 0
            if max_len and len(value) > max_len:
                raise UserError(
                    "too_long",
                    _("This answer is too long (at most %(n)d characters).") % {"n": max_len},
                )
        setattr(profile, key, value)
        changed.append(key)
    if any(k in HEALTH_FIELDS and getattr(profile, k) not in ("", None) for k in changed):
        require_health_consent(user, consent_given)
    if changed:
        profile.save(update_fields=changed)
    if "timezone" in changed:  # reminders come at the same wall-clock time in the new zone
        from tongzhou.community.reminders import reschedule_user

        reschedule_user(user)
    return profile


# Sessions, tokens, password: each change asks the person's open sockets to check again.


def list_sessions(user: User) -> list[UserSession]:
    return list(
        UserSession.objects.filter(user=user, expire_date__gt=timezone.now()).order_by(
            "-seen_at", "-started_at"
        )
    )


def do_end_session(user: User, public_id: str) -> None:
    session = next((s for s in list_sessions(user) if s.public_id == public_id), None)
    if session is None:
        raise UserError("session_not_found", _("That session has already ended."), 404)
    session.delete()
    recheck_sockets_on_commit(user.pk)


def do_end_other_sessions(user: User, keep_session_key: str | None) -> int:
    ended, _detail = (
        UserSession.objects.filter(user=user).exclude(session_key=keep_session_key or "").delete()
    )
    recheck_sockets_on_commit(user.pk)
    return ended


def list_tokens(user: User) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("-created_at", "-id"))


def do_revoke_token(user: User, token_id: object) -> None:
    deleted, _detail = ApiToken.objects.filter(
        user=user, pk=parse_id(token_id, "token_not_found")
    ).delete()
    if not deleted:
        raise UserError("token_not_found", _("There is no such token."), 404)
    recheck_sockets_on_commit(user.pk)


def check_current_password(user: User, password: str) -> None:
    """A confirmation by password; a wrong one counts toward the sign-in lockout."""
    if not user.check_password(password or ""):
        SignInFailure.objects.create(username=user.username.lower())
        raise UserError("wrong_password", _("Your current password is not right."))


def end_other_ways_in(
    user: User, *, keep_session_key: str | None = None, keep_token_id: int | None = None
) -> None:
    """End every session and token but the ones kept; open sockets recheck after commit."""
    UserSession.objects.filter(user=user).exclude(session_key=keep_session_key or "").delete()
    ApiToken.objects.filter(user=user).exclude(pk=keep_token_id or 0).delete()
    recheck_sockets_on_commit(user.pk)


def do_change_password(
    user: User,
    current: str,
    new: str,
    *,
    keep_session: SessionBase | None = None,
    keep_token_id: int | None = None,
) -> None:
    """A new password ends every other way in: other sessions and other tokens. The session
    or token making the change stays signed in."""
    check_sign_in_allowed(user.username, None)
    check_current_password(user, current)
    try:
        password_validation.validate_password(new, user)
    except ValidationError as e:
        raise UserError("weak_password", " ".join(e.messages)) from e
    with transaction.atomic():  # not around the check: a failure must stay counted
        user.set_password(new)
        user.save(update_fields=["password"])
        keep_key = None
        if keep_session is not None and keep_session.session_key:
            # Like update_session_auth_hash, but without a new key, so this browser's open
            # sockets (which know the key) stay valid; saved before the sockets recheck.
            keep_session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            keep_session.save()
            keep_key = keep_session.session_key
        end_other_ways_in(user, keep_session_key=keep_key, keep_token_id=keep_token_id)


@transaction.atomic
def do_deactivate(user: User) -> None:
    """Lock an account out everywhere at once (an operator's ban; the first step of deletion)."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    end_other_ways_in(user)
