from __future__ import annotations

from typing import Any

from django.db.models import Max

from tongzhou.chat.models import Message, VoicePlay
from tongzhou.chat.serialize import MessageDict, message_dict, with_related

PAGE_MAX = 200


def visible_messages(group_id: int) -> Any:
    return with_related(Message.objects.filter(group_id=group_id, status=Message.Status.VISIBLE))


def list_messages(
    group_id: int,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
    viewer_id: int | None = None,
) -> list[MessageDict]:
    """A page of the group's visible messages, always in id order; with a viewer, their own
    state (a voice message played or not) is filled in."""
    limit = max(1, min(limit, PAGE_MAX))
    qs = visible_messages(group_id)
    if after is not None:
        qs = qs.filter(id__gt=after)
    if before is not None:
        qs = qs.filter(id__lt=before)
    if after is not None:
        rows = list(qs.order_by("id")[:limit])
    else:  # newest page, or the page just older than `before`
        rows = list(qs.order_by("-id")[:limit])[::-1]
    page = [message_dict(m) for m in rows]
    if viewer_id is not None:
        mark_played(page, viewer_id)
    return page


def mark_played(page: list[MessageDict], viewer_id: int) -> None:
    voices = {
        m["attachment"]["id"]: m
        for m in page
        if m["attachment"] is not None and m["attachment"]["kind"] == "voice"
    }
    played = set(
        VoicePlay.objects.filter(attachment_id__in=voices, user_id=viewer_id).values_list(
            "attachment_id", flat=True
        )
    )
    for aid, m in voices.items():
        m["attachment"]["played"] = aid in played or m["sender"]["id"] == viewer_id  # type: ignore[index]


def last_message_id(group_id: int) -> int:
    return Message.objects.filter(group_id=group_id).aggregate(m=Max("id"))["m"] or 0


def unread_count(group_id: int, last_read_id: int, reader_id: int) -> int:
    return (
        Message.objects.filter(
            group_id=group_id, status=Message.Status.VISIBLE, id__gt=last_read_id
        )
        .exclude(sender_id=reader_id)
        .count()
    )
