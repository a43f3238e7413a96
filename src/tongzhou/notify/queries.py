"""Reading a member's notifications: only for groups they are still in, and only messages
they may still see."""

from __future__ import annotations

from typing import Any, TypedDict

from django.db.models import Q
from django.urls import reverse

from tongzhou.chat.models import Message
from tongzhou.chat.render import plain_text
from tongzhou.chat.serialize import sender_name, summary
from tongzhou.groups.models import Membership
from tongzhou.notify.models import Notification

PAGE = 50


class NotificationDict(TypedDict):
    id: int
    kind: str  # "mention", "reply" or "help"
    reasons: list[str]  # help only: why this member was asked, in the reader's language
    reason_codes: list[str]  # the same as codes (questions.routing.REASONS), for live pushes
    group: dict[str, Any]  # {id, name}
    message: dict[str, Any]  # {id, sender_name, text}
    url: str  # the message's permalink
    created_at: str
    read: bool


def permalink(group_id: int, message_id: int) -> str:
    return f"{reverse('groups:chat', args=[group_id])}?m={message_id}"


def visible_notifications(user_id: int) -> Any:
    active = Membership.objects.filter(user_id=user_id, status=Membership.Status.ACTIVE)
    return (
        Notification.objects.filter(
            # A moderator is told about a held message that members cannot see yet.
            Q(message__status=Message.Status.VISIBLE) | Q(kind=Notification.Kind.SAFETY),
            user_id=user_id,
            group_id__in=active.values("group_id"),
            message__deleted_at__isnull=True,
        )
        .select_related("group", "message__sender", "message__attachment")
        .order_by("-id")
    )


def notification_dict(n: Notification) -> NotificationDict:
    m = n.message
    return {
        "id": n.pk,
        "kind": n.kind,
        "reasons": reason_texts(n.reasons),
        "reason_codes": list(n.reasons),
        "group": {"id": n.group_id, "name": n.group.name},
        "message": {
            "id": m.pk,
            "sender_name": sender_name(m),
            "text": plain_text(m.text, 200) or summary(m),
        },
        "url": (
            reverse("groups:moderation", args=[n.group_id])
            if n.kind == Notification.Kind.SAFETY
            else permalink(n.group_id, m.pk)
        ),
        "created_at": n.created_at.isoformat(),
        "read": n.read_at is not None,
    }


def reason_texts(codes: list[str]) -> list[str]:
    from tongzhou.questions.routing import REASONS
    from tongzhou.safety.queries import ALERTS

    known = {**REASONS, **ALERTS}
    return [str(known[c]) for c in codes if c in known]


def list_notifications(
    user_id: int, *, before: int | None = None, unread_only: bool = False
) -> list[NotificationDict]:
    qs = visible_notifications(user_id)
    if before is not None:
        qs = qs.filter(id__lt=before)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return [notification_dict(n) for n in qs[:PAGE]]


def unread_notification_count(user_id: int) -> int:
    return int(visible_notifications(user_id).filter(read_at__isnull=True).count())
