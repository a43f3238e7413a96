from __future__ import annotations

from typing import Any, TypedDict

from django.utils.translation import gettext as _

from tongzhou.chat.models import Message


class SenderDict(TypedDict):
    id: int | None  # None: a former member
    display_name: str


class ReplyPreview(TypedDict):
    id: int
    sender_name: str
    text: str


class MessageDict(TypedDict):
    id: int
    group: int
    sender: SenderDict
    text: str
    kind: str
    reply_to: int | None
    reply_preview: ReplyPreview | None
    status: str
    created_at: str


def sender_name(m: Message) -> str:
    return m.sender.display_name if m.sender is not None else str(_("Former member"))


def message_dict(m: Message) -> MessageDict:
    preview: ReplyPreview | None = None
    if m.reply_to_id is not None and m.reply_to is not None:
        preview = {
            "id": m.reply_to.pk,
            "sender_name": sender_name(m.reply_to),
            "text": m.reply_to.text[:120],
        }
    return {
        "id": m.pk,
        "group": m.group_id,
        "sender": {"id": m.sender_id, "display_name": sender_name(m)},
        "text": m.text,
        "kind": m.kind,
        "reply_to": m.reply_to_id,
        "reply_preview": preview,
        "status": m.status,
        "created_at": m.created_at.isoformat(),
    }


def with_related(qs: Any) -> Any:
    return qs.select_related("sender", "reply_to__sender")
