"""Uploading, fetching and listening to pictures and voice messages."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou import storage
from tongzhou.accounts.models import User
from tongzhou.chat.media import Processed, check_size, process_image, process_voice
from tongzhou.chat.models import Attachment, LinkPreview, Message, VoicePlay
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group, membership_of, not_found

log = logging.getLogger(__name__)

UNSENT_KEPT = timedelta(days=1)


def _check_rate(user: User) -> None:
    since = timezone.now() - timedelta(hours=1)
    if (
        Attachment.objects.filter(uploader=user, created_at__gte=since).count()
        >= settings.UPLOADS_PER_HOUR
    ):
        raise UserError(
            "too_many_uploads",
            _("You have sent many files this hour. Please wait a while and try again."),
            429,
        )


def _clear_unsent(user: User) -> None:
    """Uploads never sent with a message go after a day (a cancelled picture, a lost tab)."""
    old = Attachment.objects.filter(
        uploader=user, message__isnull=True, created_at__lt=timezone.now() - UNSENT_KEPT
    )
    for attachment in old:
        attachment.delete()


def do_upload(user: User, group_id: int, kind: str, data: bytes) -> Attachment:
    access_group(user, group_id)
    if kind not in Attachment.Kind.values:
        raise UserError("invalid_kind", _("Send a picture or a voice message."))
    _check_rate(user)
    _clear_unsent(user)
    processed: Processed = (
        process_image(data) if kind == Attachment.Kind.IMAGE else process_voice(data)
    )
    names = [storage.save(processed.data)]
    if processed.thumb is not None:
        names.append(storage.save(processed.thumb))
    try:
        attachment = Attachment.objects.create(
            group_id=group_id,
            uploader=user,
            kind=kind,
            file=names[0],
            mime=processed.mime,
            extension=processed.extension,
            size=len(processed.data),
            width=processed.width,
            height=processed.height,
            duration_ms=processed.duration_ms,
            thumb=names[1] if len(names) > 1 else "",
            thumb_mime=processed.thumb_mime or "",
            has_qr=processed.has_qr,
        )
    except Exception:
        for name in names:
            storage.delete(name)
        raise
    log.info("attachment %s (%s) uploaded to group %s", attachment.pk, kind, group_id)
    return attachment


def check_upload_size(content_length: object) -> None:
    """Refuse a too-large upload from its declared length, before reading the body (each
    kind's own limit is checked on the file itself)."""
    try:
        size = int(str(content_length))
    except ValueError:
        return
    limit = max(settings.IMAGE_MAX_BYTES, settings.VOICE_MAX_BYTES)
    check_size(size - 4096, limit)  # the multipart envelope is not the file


def attachable(user: User, group_id: int, attachment_id: int) -> Attachment:
    """An upload of the sender's, in this group, not yet sent."""
    attachment = (
        Attachment.objects.select_for_update()
        .filter(pk=attachment_id, uploader=user, group_id=group_id)
        .first()
    )
    if attachment is None:
        raise UserError(
            "attachment_not_found", _("This file is not here. Please add it again."), 404
        )
    if attachment.message_id is not None:
        raise UserError("attachment_used", _("This file was already sent."), 409)
    return attachment


def access_attachment(user: User | AnonymousUser, attachment_id: int) -> Attachment:
    """Every fetch is checked: an active member of the group, and the message is visible to
    them (or they uploaded it; or it waits for approval and they moderate the group). Anything
    else is the same 404 as a missing file."""
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        raise not_found()
    membership = membership_of(user, attachment.group_id)
    if membership is None:
        raise not_found()
    mine = user.pk is not None and attachment.uploader_id == user.pk
    message = attachment.message
    judging = membership.can_moderate and message is not None and not message.deleted_at
    if not mine and not judging and (message is None or message.status != Message.Status.VISIBLE):
        raise not_found()
    return attachment


def access_link_preview(user: User | AnonymousUser, message_id: int) -> LinkPreview:
    """A preview picture: for an active member of the group, while the message is visible."""
    preview = (
        LinkPreview.objects.select_related("message")
        .filter(message_id=message_id, message__deleted_at__isnull=True)
        .exclude(image="")
        .first()
    )
    if (
        preview is None
        or preview.message.status != Message.Status.VISIBLE
        or membership_of(user, preview.message.group_id) is None
    ):
        raise not_found()
    return preview


def do_mark_played(user: User | AnonymousUser, attachment_id: int) -> None:
    attachment = access_attachment(user, attachment_id)
    if attachment.kind != Attachment.Kind.VOICE:
        raise not_found()
    VoicePlay.objects.get_or_create(attachment=attachment, user=user)


@receiver(post_delete, sender=Attachment)
def _delete_files(sender: type[Attachment], instance: Attachment, **kwargs: object) -> None:
    # After commit: a rolled-back deletion must not lose the files. Also runs for cascades
    # (a deleted message, account or group).
    names = instance.files()

    def remove() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(remove)
