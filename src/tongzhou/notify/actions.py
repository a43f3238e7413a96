"""Creating and reading notifications. Created inside the transaction that sent (or edited)
the message, pushed to the member's open pages after commit."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.chat.models import Message
from tongzhou.errors import UserError
from tongzhou.groups.models import Membership
from tongzhou.notify.digest import CONFIRM_VALID, code_digest, new_confirm_code, send_confirmation
from tongzhou.notify.models import EmailSettings, Notification
from tongzhou.notify.queries import notification_dict, unread_notification_count
from tongzhou.realtime import publish_to_user


def notify_message(message: Message, mentioned: Iterable[int], *, replies: bool = True) -> None:
    """Tell the members @-mentioned in the message, and the author of the message it
    answers. Never the sender themselves, never someone no longer in the group."""
    targets = {uid: Notification.Kind.MENTION for uid in mentioned}
    if replies and message.reply_to_id is not None:
        author = Message.objects.filter(
            pk=message.reply_to_id, deleted_at__isnull=True
        ).values_list("sender_id", flat=True)
        if (uid := author.first()) is not None:
            targets.setdefault(uid, Notification.Kind.REPLY)
    targets.pop(message.sender_id, None)  # type: ignore[arg-type]
    if not targets:
        return
    active = set(
        Membership.objects.filter(
            group_id=message.group_id, user_id__in=targets, status=Membership.Status.ACTIVE
        ).values_list("user_id", flat=True)
    )
    Notification.objects.bulk_create(
        [
            Notification(user_id=uid, group_id=message.group_id, message=message, kind=kind)
            for uid, kind in targets.items()
            if uid in active
        ],
        ignore_conflicts=True,  # an edit that mentions someone already told
    )
    _push_after_commit(message, active)


def notify_help(message: Message, reasons: dict[int, list[str]], at: datetime.datetime) -> None:
    """Ask members to help with a question, saying why each was chosen (questions.routing).
    `at` is the routing clock, which the hourly caps count by."""
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=uid,
                group_id=message.group_id,
                message=message,
                kind=Notification.Kind.HELP,
                reasons=why,
                created_at=at,
            )
            for uid, why in reasons.items()
        ],
        ignore_conflicts=True,  # already mentioned or asked: told once is enough
    )
    _push_after_commit(message, set(reasons))


def notify_safety(message: Message, user_ids: list[int], code: str) -> None:
    """A private alert to the leader and moderators about a message (safety/checks.py); it
    takes the place of a mention of the same message, and stays unread until handled."""
    existing = Notification.objects.filter(message=message, user_id__in=user_ids)
    existing.update(kind=Notification.Kind.SAFETY, reasons=[code], read_at=None)
    told = set(existing.values_list("user_id", flat=True))
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=uid,
                group_id=message.group_id,
                message=message,
                kind=Notification.Kind.SAFETY,
                reasons=[code],
            )
            for uid in user_ids
            if uid not in told
        ],
        ignore_conflicts=True,
    )
    _push_after_commit(message, set(user_ids))


def _push_after_commit(message: Message, user_ids: set[int]) -> None:
    def push() -> None:
        for n in Notification.objects.filter(message=message, user_id__in=user_ids).select_related(
            "group", "message__sender", "message__attachment"
        ):
            publish_to_user(
                n.user_id,
                {
                    "type": "notify.new",
                    "notification": notification_dict(n),
                    "unread": unread_notification_count(n.user_id),
                },
            )

    transaction.on_commit(push)


def withdraw_mentions(message: Message, mentioned: Iterable[int]) -> None:
    """An edit took @-names out: those members are no longer told they were mentioned. The
    author of the message it answers keeps a notification, as a reply."""
    gone = Notification.objects.filter(message=message, kind=Notification.Kind.MENTION).exclude(
        user_id__in=list(mentioned)
    )
    if message.reply_to_id is not None:
        author = Message.objects.filter(
            pk=message.reply_to_id, deleted_at__isnull=True
        ).values_list("sender_id", flat=True)
        if (uid := author.first()) is not None:
            gone.filter(user_id=uid).update(kind=Notification.Kind.REPLY)
    gone.delete()


def mark_read_upto(user_id: int, group_id: int, message_id: int) -> None:
    """The member has read the group up to this message: its notifications are read too."""
    Notification.objects.filter(
        user_id=user_id, group_id=group_id, message_id__lte=message_id, read_at__isnull=True
    ).exclude(kind=Notification.Kind.SAFETY).update(read_at=timezone.now())  # until handled


def do_mark_notifications_read(user_id: int, ids: list[int] | None) -> int:
    """Mark some (or, with None, all) of the member's notifications read; the unread count."""
    qs = Notification.objects.filter(user_id=user_id, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=[i for i in ids[:500] if 0 < i < 2**63])  # ids of rows only
    qs.update(read_at=timezone.now())
    return unread_notification_count(user_id)


def email_settings_of(user_id: int) -> EmailSettings:
    found, _created = EmailSettings.objects.get_or_create(user_id=user_id)
    return found


def _time(value: object, field: str) -> datetime.time | None:
    if value in (None, ""):
        return None
    if not isinstance(value, datetime.time):
        try:
            value = datetime.time.fromisoformat(str(value))
        except ValueError:
            raise UserError(
                "invalid_time",
                _("Quiet hours are times like 22:00 (%(field)s).") % {"field": field},
            ) from None
    # A wall-clock time on the server's clock: an offset or seconds mean nothing here.
    return value.replace(second=0, microsecond=0, tzinfo=None)


def do_update_email_settings(user_id: int, data: dict[str, Any]) -> EmailSettings:
    """Change what is in `data` (email, digest, include_text, include_questions, quiet_start,
    quiet_end, language). A new address must be confirmed before any digest goes to it."""
    s = email_settings_of(user_id)
    email = str(data.get("email", s.email) or "").strip()
    if email != s.email:
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise UserError(
                    "invalid_email", _("This does not look like an e-mail address.")
                ) from None
        s.email, s.email_confirmed, s.confirm_digest = email, False, ""
    digest = data.get("digest", s.digest)
    if digest not in EmailSettings.Digest.values:
        raise UserError("invalid_digest", _("Choose off, hourly or daily."))
    if digest != EmailSettings.Digest.OFF and not s.email:
        raise UserError("email_needed", _("Add your e-mail address to receive a digest."))
    s.digest = digest
    for flag in ("include_text", "include_questions"):
        if flag in data:
            setattr(s, flag, bool(data[flag]))
    if "quiet_start" in data:
        s.quiet_start = _time(data["quiet_start"], "quiet_start")
    if "quiet_end" in data:
        s.quiet_end = _time(data["quiet_end"], "quiet_end")
    if data.get("language") in dict(settings.LANGUAGES):
        s.language = data["language"]
    code = None
    if s.email and not s.email_confirmed and not s.confirm_digest:
        code = new_confirm_code()
        s.confirm_digest, s.confirm_sent_at = code_digest(code), timezone.now()
    with transaction.atomic():
        s.save()
        if code is not None:
            send_confirmation.enqueue(user_id, code)
    return s


def do_resend_confirmation(user_id: int) -> None:
    s = email_settings_of(user_id)
    if not s.email or s.email_confirmed:
        raise UserError("nothing_to_confirm", _("There is no address waiting for confirmation."))
    s.confirm_digest = ""
    do_update_email_settings(user_id, {})


def do_confirm_email(user_id: int, code: str) -> EmailSettings:
    s = email_settings_of(user_id)
    fresh = s.confirm_sent_at is not None and timezone.now() - s.confirm_sent_at < CONFIRM_VALID
    if not (
        s.email
        and s.confirm_digest
        and fresh
        and secrets.compare_digest(s.confirm_digest, code_digest(str(code)))
    ):
        raise UserError(
            "invalid_code",
            _(
                "This confirmation link is not valid any more. Ask for a new one on the settings page."
            ),
        )
    s.email_confirmed, s.confirm_digest = True, ""
    s.save(update_fields=["email_confirmed", "confirm_digest"])
    return s
