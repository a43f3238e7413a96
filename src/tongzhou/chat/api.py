from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import DataError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import ValidationError

from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_mark_read, do_send_message
from tongzhou.chat.attachments import check_upload_size, do_mark_played, do_upload
from tongzhou.chat.changes import (
    do_delete_message,
    do_edit_message,
    do_pin,
    do_react,
    pinned_messages,
)
from tongzhou.chat.queries import first_message_at, last_visible_id, list_messages
from tongzhou.chat.serialize import MessageDict, attachment_dict, message_dict, with_related
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group

router = Router(tags=["chat"])


class MessageIn(Schema):
    client_id: str
    text: str
    kind: str = "text"
    reply_to: int | None = None
    attachment: int | None = None
    # Send even though it seems to hold personal data (the sender was asked and said yes).
    confirm_personal_data: bool = False


class EditIn(Schema):
    text: str
    confirm_personal_data: bool = False


class ReactionIn(Schema):
    emoji: str
    on: bool = True


class PinIn(Schema):
    on: bool = True


class ReadIn(Schema):
    last_read_id: int


@router.post("/groups/{gid}/messages", response={200: dict, 201: dict}, operation_id="send_message")
def send_message(request: HttpRequest, gid: int, payload: MessageIn) -> Status[dict[str, Any]]:
    user: User = request.user  # type: ignore[assignment]  # auth guarantees a signed-in user
    message, created = do_send_message(
        user,
        gid,
        client_id=payload.client_id,
        text=payload.text,
        kind=payload.kind,
        reply_to=payload.reply_to,
        attachment=payload.attachment,
        confirm_personal_data=payload.confirm_personal_data,
    )
    answer: dict[str, Any] = {**message, "notices": notices_for(message, user)}
    if message["kind"] == "question" and message["text"]:
        from tongzhou.questions.queries import similar_questions

        found = similar_questions(gid, message["text"], exclude=message["id"])
        if found:
            answer["notices"].append({"type": "asked_before", "similar": found})
    return Status(201 if created else 200, answer)


def notices_for(message: MessageDict, user: User) -> list[dict[str, Any]]:
    """What only the sender is told (held, crisis lines, worth checking); the same on a retry."""
    from tongzhou.safety.queries import sender_notices

    return sender_notices(message, user)


@router.get("/groups/{gid}/messages", operation_id="list_messages")
def get_messages(
    request: HttpRequest,
    gid: int,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
    around: int | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """In id order: the newest page; or after/before an id; or around a message (`around`,
    a permalink) or the first message at or after a moment (`at`, jump to a date). The
    last two also answer `anchor` (the message to show) and `newest_id`."""
    membership = access_group(request.user, gid)
    answer: dict[str, Any] = {
        # Read (with the membership) before the page: a change made meanwhile is sent again
        # over the socket rather than missed.
        "change_seq": membership.group.change_seq,
    }
    if at is not None:
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        try:
            at.astimezone(UTC)  # the database compares in UTC: year 1 or 9999 may not fit
            with transaction.atomic():  # a savepoint: the refused query leaves nothing aborted
                around = first_message_at(membership.group_id, at)
        except (OverflowError, DataError):  # PostgreSQL has its own limits (found by fuzzing)
            raise ValidationError([{"loc": ("query", "at"), "type": "datetime_range"}]) from None
    if around is not None:
        answer["anchor"] = around
        answer["newest_id"] = last_visible_id(membership.group_id)
    answer["messages"] = list_messages(
        membership.group_id,
        after=after,
        before=before,
        limit=limit,
        around=around,
        viewer_id=membership.user_id,
    )
    return answer


@router.patch("/groups/{gid}/messages/{mid}", operation_id="edit_message")
def edit_message(request: HttpRequest, gid: int, mid: int, payload: EditIn) -> dict[str, Any]:
    return dict(
        do_edit_message(
            request.user,  # type: ignore[arg-type]
            gid,
            mid,
            payload.text,
            confirm_personal_data=payload.confirm_personal_data,
        )
    )


@router.delete("/groups/{gid}/messages/{mid}", operation_id="delete_message")
def delete_message(request: HttpRequest, gid: int, mid: int) -> dict[str, Any]:
    return dict(do_delete_message(request.user, gid, mid))  # type: ignore[arg-type]


@router.post("/groups/{gid}/messages/{mid}/reactions", operation_id="react")
def react(request: HttpRequest, gid: int, mid: int, payload: ReactionIn) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    return dict(do_react(user, gid, mid, payload.emoji, payload.on))


@router.post("/groups/{gid}/messages/{mid}/pin", operation_id="pin_message")
def pin(request: HttpRequest, gid: int, mid: int, payload: PinIn) -> dict[str, Any]:
    """Leaders and moderators pin (or, with on=false, unpin) a message for everyone."""
    user: User = request.user  # type: ignore[assignment]
    return dict(do_pin(user, gid, mid, payload.on))


@router.get("/groups/{gid}/pins", operation_id="list_pins")
def get_pins(request: HttpRequest, gid: int) -> dict[str, Any]:
    membership = access_group(request.user, gid)
    rows = with_related(pinned_messages(membership.group_id)).order_by("-pinned_at")
    return {"messages": [message_dict(m) for m in rows]}


@router.post("/groups/{gid}/read", operation_id="mark_read")
def mark_read(request: HttpRequest, gid: int, payload: ReadIn) -> dict[str, int]:
    membership = access_group(request.user, gid)
    return {"last_read_id": do_mark_read(membership, payload.last_read_id)}


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind", "file"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["image", "voice"]},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/groups/{gid}/attachments",
    response={201: dict},
    operation_id="upload_attachment",
    openapi_extra=UPLOAD_BODY,
)
def upload_attachment(request: HttpRequest, gid: int) -> Status[dict[str, Any]]:
    """A picture or voice recording, checked by its content; send it with a message next."""
    user: User = request.user  # type: ignore[assignment]
    access_group(user, gid)  # before reading a byte of the body
    check_upload_size(request.META.get("CONTENT_LENGTH"))
    kind = request.POST.get("kind", "")
    upload = request.FILES.get("file")
    if upload is None:
        raise UserError("no_file", _("Choose a picture or record a voice message first."))
    attachment = do_upload(user, gid, kind, upload.read())
    return Status(201, dict(attachment_dict(attachment)))


@router.post("/attachments/{aid}/played", operation_id="mark_played")
def mark_played_voice(request: HttpRequest, aid: int) -> dict[str, bool]:
    do_mark_played(request.user, aid)
    return {"played": True}
