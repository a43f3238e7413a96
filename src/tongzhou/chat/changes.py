"""Changes to a sent message: edit (briefly), delete, react. Each one bumps the group's change
counter and is published as `message.updated`, so open sockets update in place and a
reconnecting client asks for every change after the last it saw (`changes_after=`)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.chat.actions import check_send_message
from tongzhou.chat.mentions import find_mentions, save_mentions
from tongzhou.chat.models import REACTIONS, Attachment, DeletedBy, LinkPreview, Message, Reaction
from tongzhou.chat.serialize import MessageDict, attachment_of, message_dict
from tongzhou.errors import UserError
from tongzhou.groups.models import Group, Membership
from tongzhou.groups.queries import access_group, access_moderation, not_found
from tongzhou.knowledge.index import index_message, unindex_message
from tongzhou.questions import actions as questions
from tongzhou.realtime import send_event_on_commit

log = logging.getLogger(__name__)

CHANGES_PAGE = 200
PINS_MAX = 10


def _locked_message(membership: Membership, message_id: int, include_held: bool = False) -> Message:
    # The group row first, as sends do: changes and sends are ordered the same way.
    Group.objects.select_for_update().only("pk").get(pk=membership.group_id)
    shown = Message.objects.filter(pk=message_id, group_id=membership.group_id)
    if not include_held:
        shown = shown.filter(status=Message.Status.VISIBLE)
    message = shown.first()
    if message is None:
        raise not_found()
    return message


def publish_change(message: Message, fields: list[str]) -> MessageDict:
    Group.objects.filter(pk=message.group_id).update(change_seq=F("change_seq") + 1)
    seq = Group.objects.values_list("change_seq", flat=True).get(pk=message.group_id)
    message.change_seq = seq
    message.save(update_fields=[*fields, "change_seq"])
    data = message_dict(message)
    send_event_on_commit(
        message.group_id, {"type": "message.updated", "message": data, "change_seq": seq}
    )
    return data


def _not_deleted(message: Message) -> None:
    if message.deleted_by:
        raise UserError("message_deleted", _("This message was deleted."), 409)


def do_edit_message(
    user: User, group_id: int, message_id: int, text: str, confirm_personal_data: bool = False
) -> MessageDict:
    membership = access_group(user, group_id)
    with transaction.atomic():
        message = _locked_message(membership, message_id)
        if message.sender_id != user.pk:
            raise UserError("not_allowed", _("You can only edit your own messages."), 403)
        _not_deleted(message)
        window = timedelta(seconds=settings.EDIT_WINDOW_SECONDS)
        if timezone.now() - message.created_at > window:
            raise UserError(
                "edit_window_passed",
                _("A message can be edited for %(minutes)d minutes after sending.")
                % {"minutes": settings.EDIT_WINDOW_SECONDS // 60},
                409,
            )
        message.text = check_send_message(
            membership,
            message.client_id,
            text,
            message.kind,
            None,
            has_attachment=attachment_of(message) is not None,
        )
        from tongzhou.safety.checks import check_message, check_personal_data, record

        check_personal_data(message.text, confirm_personal_data)
        # An edit cannot un-send: what the checks find is flagged for the moderators.
        verdict = check_message(membership, membership.group, message.text, None)
        verdict.hold = False
        record(message, verdict)
        message.edited_at = timezone.now()
        from tongzhou.chat.previews import start_preview
        from tongzhou.notify.actions import notify_message, withdraw_mentions

        found = find_mentions(group_id, message.text)
        added = save_mentions(message, found)
        withdraw_mentions(message, found.values())
        notify_message(message, added, replies=False)  # only those newly @-named
        start_preview(message)
        questions.on_edit(message)
        index_message(message)
        from tongzhou.community.topics import index_tags

        index_tags(message)  # the edited text's #topics replace the old ones
        return publish_change(message, ["text", "edited_at"])


def do_delete_message(
    user: User, group_id: int, message_id: int, include_held: bool = False
) -> MessageDict:
    """The sender deletes their own message; a leader or moderator removes anyone's (and is
    in the audit log). Others then see only that it was deleted, and by whom."""
    membership = access_group(user, group_id)
    with transaction.atomic():
        message = _locked_message(membership, message_id, include_held)
        if message.sender_id == user.pk:
            by = DeletedBy.SENDER
        elif membership.can_moderate:
            by = DeletedBy.MODERATOR
            if not include_held:  # the safety actions write their own entry, with the reason
                from tongzhou.safety.audit import audit

                audit(group_id, user, "hide", member_id=message.sender_id, message_id=message.pk)
                from tongzhou.safety.models import Report

                # Its open reports are dealt with by the removal (not a crisis alert: the
                # person still needs someone to reach out).
                Report.objects.filter(message=message, status=Report.Status.OPEN).exclude(
                    reason=Report.Reason.CRISIS
                ).update(status=Report.Status.DONE, handled_by=user, handled_at=timezone.now())
        else:
            raise UserError("not_allowed", _("You can only delete your own messages."), 403)
        _not_deleted(message)
        message.text = ""
        message.deleted_at = timezone.now()
        message.deleted_by = by
        message.pinned_at, message.pinned_by = None, None
        Attachment.objects.filter(message=message).delete()  # the files go after commit
        Reaction.objects.filter(message=message).delete()
        LinkPreview.objects.filter(message=message).delete()
        message.mentions.all().delete()
        message.notifications.all().delete()
        data = publish_change(
            message, ["text", "deleted_at", "deleted_by", "pinned_at", "pinned_by"]
        )
        questions.on_delete(message)
        unindex_message(message.pk)
    log.info("message %s deleted by %s (%s)", message_id, user.pk, by)
    return data


def do_react(user: User, group_id: int, message_id: int, emoji: str, on: bool) -> MessageDict:
    membership = access_group(user, group_id)
    if emoji not in REACTIONS:
        raise UserError(
            "invalid_reaction", _("Choose one of: %(list)s") % {"list": " ".join(REACTIONS)}
        )
    with transaction.atomic():
        message = _locked_message(membership, message_id)
        _not_deleted(message)
        mine = Reaction.objects.filter(message=message, user=user, emoji=emoji)
        if on == mine.exists():
            return message_dict(message)  # already so: nothing changes, nothing is sent
        if on:
            Reaction.objects.create(message=message, user=user, emoji=emoji)
        else:
            mine.delete()
        return publish_change(message, [])


def do_pin(user: User, group_id: int, message_id: int, on: bool) -> MessageDict:
    """Leaders and moderators pin a message for everyone (at most PINS_MAX at a time)."""
    membership = access_moderation(user, group_id)
    with transaction.atomic():
        message = _locked_message(membership, message_id)
        _not_deleted(message)
        if on == (message.pinned_at is not None):
            return message_dict(message)
        if on and pinned_messages(group_id).count() >= PINS_MAX:
            raise UserError(
                "too_many_pins",
                _("At most %(n)d messages can be pinned. Unpin one first.") % {"n": PINS_MAX},
                409,
            )
        message.pinned_at = timezone.now() if on else None
        message.pinned_by = user if on else None
        from tongzhou.safety.audit import audit

        audit(
            group_id,
            user,
            "pin" if on else "unpin",
            member_id=message.sender_id,
            message_id=message.pk,
        )
        return publish_change(message, ["pinned_at", "pinned_by"])


def pinned_messages(group_id: int) -> Any:
    return Message.objects.filter(
        group_id=group_id,
        pinned_at__isnull=False,
        status=Message.Status.VISIBLE,
        deleted_at__isnull=True,
    )


def changes_after(group_id: int, seq: int, upto_id: int) -> list[tuple[int, MessageDict]]:
    """Messages (up to `upto_id`) changed after the client's last seen change, oldest change
    first."""
    from tongzhou.chat.serialize import with_related

    rows = with_related(
        Message.objects.filter(
            group_id=group_id,
            change_seq__gt=seq,
            id__lte=upto_id,
            status=Message.Status.VISIBLE,
        )
    ).order_by("change_seq")[:CHANGES_PAGE]
    return [(m.change_seq, message_dict(m)) for m in rows]
