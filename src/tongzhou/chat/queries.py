from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Max, Q

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
    around: int | None = None,
    viewer_id: int | None = None,
) -> list[MessageDict]:
    """A page of the group's visible messages, always in id order; with a viewer, their own
    state (a voice message played or not) is filled in. `around` centres the page on a
    message (a permalink, a jump to a date)."""
    from tongzhou.safety.queries import badges_of

    limit = max(1, min(limit, PAGE_MAX))
    badges = badges_of(group_id)
    qs = visible_messages(group_id)
    if viewer_id is not None:  # a sender sees their own messages waiting for a moderator
        qs = with_related(
            Message.objects.filter(group_id=group_id).filter(
                Q(status=Message.Status.VISIBLE) | Q(sender_id=viewer_id)
            )
        )
    if around is not None:
        older = list(qs.filter(id__lt=around).order_by("-id")[: limit // 2])[::-1]
        rows = older + list(qs.filter(id__gte=around).order_by("id")[: limit - len(older)])
        page = [message_dict(m, badges) for m in rows]
        if viewer_id is not None:
            mark_played(page, viewer_id)
        return page
    if after is not None:
        qs = qs.filter(id__gt=after)
    if before is not None:
        qs = qs.filter(id__lt=before)
    if after is not None:
        rows = list(qs.order_by("id")[:limit])
    else:  # newest page, or the page just older than `before`
        rows = list(qs.order_by("-id")[:limit])[::-1]
    page = [message_dict(m, badges) for m in rows]
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


def first_message_at(group_id: int, at: datetime) -> int | None:
    """The first visible message sent at or after `at`, else the newest before it."""
    qs = Message.objects.filter(group_id=group_id, status=Message.Status.VISIBLE)
    found = qs.filter(created_at__gte=at).order_by("id").values_list("id", flat=True).first()
    return found or qs.order_by("-id").values_list("id", flat=True).first()


def last_visible_id(group_id: int) -> int:
    qs = Message.objects.filter(group_id=group_id, status=Message.Status.VISIBLE)
    return qs.aggregate(m=Max("id"))["m"] or 0


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
