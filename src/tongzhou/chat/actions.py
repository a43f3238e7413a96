"""Sending and reading messages: one behaviour for the API, the socket, the pages and imports."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tongzhou import metrics
from tongzhou.accounts.models import User
from tongzhou.chat.attachments import attachable
from tongzhou.chat.mentions import find_mentions, save_mentions
from tongzhou.chat.models import Message
from tongzhou.chat.previews import start_preview
from tongzhou.chat.queries import last_message_id
from tongzhou.chat.serialize import MessageDict, message_dict
from tongzhou.community.topics import index_tags, tell_followers
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Group, Membership
from tongzhou.groups.queries import access_group
from tongzhou.knowledge.index import index_message
from tongzhou.notify.actions import mark_read_upto, notify_message
from tongzhou.questions.actions import on_send as track_question
from tongzhou.realtime import send_event_on_commit
from tongzhou.safety.checks import check_message, check_personal_data, record
from tongzhou.safety.limits import check_rates
from tongzhou.text import clean

log = logging.getLogger(__name__)


def check_send_message(
    membership: Membership,
    client_id: str,
    text: str,
    kind: str,
    reply_to: int | None,
    has_attachment: bool = False,
) -> str:
    if (
        not isinstance(client_id, str)
        or not 1 <= len(client_id) <= 64
        or clean(client_id) != client_id
    ):
        raise UserError("invalid_client_id", _("client_id must be 1 to 64 characters."))
    text = clean(text) if isinstance(text, str) else ""
    if not text and not has_attachment:
        raise UserError("empty_message", _("Write something before sending."))
    if len(text) > settings.MESSAGE_MAX_CHARS:
        raise UserError(
            "message_too_long",
            _(
                "This message is %(n)d characters long; the most is %(max)d. Please shorten it "
                "or send it in parts."
            )
            % {"n": len(text), "max": settings.MESSAGE_MAX_CHARS},
            413,
        )
    if kind not in Message.Kind.values:
        raise UserError("invalid_kind", _("A message kind is 'text' or 'question'."))
    if (
        reply_to is not None
        and not Message.objects.filter(
            pk=reply_to, group_id=membership.group_id, status=Message.Status.VISIBLE
        ).exists()
    ):
        raise UserError("reply_not_found", _("The message you are replying to is not here."))
    return text


def _existing(user: User, client_id: str, group_id: int) -> Message | None:
    m = Message.objects.filter(sender=user, client_id=client_id).first()
    if m is not None and m.group_id != group_id:
        raise UserError(
            "client_id_reused", _("This client_id was already used in another group."), 409
        )
    return m


def do_send_message(
    user: User,
    group_id: int,
    *,
    client_id: str,
    text: str,
    kind: str = Message.Kind.TEXT,
    reply_to: int | None = None,
    attachment: int | None = None,
    confirm_personal_data: bool = False,
) -> tuple[MessageDict, bool]:
    """Write the message (with an uploaded picture or recording, if any) after the safety
    checks, and publish it after commit unless it is held for a moderator. Returns
    (message, created)."""
    membership = access_group(user, group_id)
    usable = isinstance(client_id, str) and clean(client_id) == client_id  # no NUL to the DB
    previous = _existing(user, client_id, group_id) if usable else None
    if previous is not None:
        return message_dict(previous), False
    check_may_send(membership)
    text = check_send_message(
        membership, client_id, text, kind, reply_to, has_attachment=attachment is not None
    )
    check_personal_data(text, confirm_personal_data)
    started = time.perf_counter()
    try:
        with transaction.atomic():
            # Serialise sends per group so ids commit in order and prev_id is exact.
            Group.objects.select_for_update().only("pk").get(pk=group_id)
            upload = (
                attachable(user, group_id, parse_id(attachment, "attachment_not_found"))
                if attachment is not None
                else None
            )
            prev_id = last_message_id(group_id)
            verdict = check_message(
                membership,
                membership.group,
                text,
                upload,
                confirmed_personal_data=confirm_personal_data,
            )
            message = Message.objects.create(
                group_id=group_id,
                sender=user,
                client_id=client_id,
                text=text,
                kind=kind,
                reply_to_id=reply_to,
                status=Message.Status.HELD if verdict.hold else Message.Status.VISIBLE,
            )
            if upload is not None:
                upload.message = message
                upload.save(update_fields=["message"])
            index_tags(message, fresh=True)  # #topics: a held one shows once let through
            if not verdict.hold:
                on_visible(message)
            record(message, verdict)
            data = message_dict(message)
            if not verdict.hold:  # a held message reaches the group when approved
                send_event_on_commit(
                    group_id, {"type": "message.new", "message": data, "prev_id": prev_id}
                )
    except IntegrityError:  # the same client_id raced in; answer with the stored message
        previous = _existing(user, client_id, group_id)
        if previous is None:
            raise
        return message_dict(previous), False
    metrics.SEND_SECONDS.observe(time.perf_counter() - started)
    metrics.MESSAGES_SENT.inc()
    log.debug("message %s sent to group %s by user %s", message.pk, group_id, user.pk)
    return data, True


def on_visible(message: Message) -> None:
    """What follows a message reaching the group: mentions and replies told, link preview,
    question tracking, search index, followers of its #topics told. At send, or when a
    moderator approves a held one."""
    notify_message(message, save_mentions(message, find_mentions(message.group_id, message.text)))
    start_preview(message)
    track_question(message)
    index_message(message)
    tell_followers(message)


def check_may_send(membership: Membership) -> None:
    """A muted member waits; everyone is held to the sending rate."""
    until = membership.muted_until
    if until is not None and until > timezone.now():
        raise UserError(
            "muted",
            _("A moderator has paused your sending in this group until %(time)s.")
            % {"time": date_format(timezone.localtime(until), "DATETIME_FORMAT")},
            403,
        )
    check_rates(["send_minute", "send_hour"], Message.objects.filter(sender_id=membership.user_id))


def do_mark_read(membership: Membership, last_read_id: int) -> int:
    """Move the member's read marker forward (never back, never past the newest message)."""
    newest = last_message_id(membership.group_id)
    target = min(max(int(last_read_id), 0), newest)
    Membership.objects.filter(pk=membership.pk, last_read_id__lt=target).update(last_read_id=target)
    mark_read_upto(membership.user_id, membership.group_id, target)
    membership.refresh_from_db(fields=["last_read_id"])
    return membership.last_read_id
