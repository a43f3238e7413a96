from __future__ import annotations

from typing import Any, TypedDict

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext as _

from tongzhou.chat.models import REACTIONS, Attachment, LinkPreview, Message
from tongzhou.chat.render import plain_text, to_html


class SenderDict(TypedDict):
    id: int | None  # None: a former member
    display_name: str
    badge: str | None  # "Doctor", "Nurse"…: a professional the leader verified


class ReplyPreview(TypedDict):
    id: int
    sender_id: int | None
    sender_name: str
    text: str
    question_state: str | None  # the quoted message is a question: "open", "answered"…


class AttachmentDict(TypedDict, total=False):
    id: int
    kind: str  # "image" or "voice"
    mime: str
    size: int
    url: str
    thumb_url: str | None
    width: int | None
    height: int | None
    duration_ms: int | None
    played: bool  # voice only, and only in answers for one listener


class ReactionDict(TypedDict):
    emoji: str
    users: list[int]  # who reacted, oldest first


class LinkPreviewDict(TypedDict):
    url: str
    title: str
    description: str
    site_name: str
    image_url: str | None


class MessageDict(TypedDict):
    id: int
    group: int
    sender: SenderDict
    text: str
    html: str  # the text as sanitised HTML: Markdown subset, links, @mentions
    kind: str
    reply_to: int | None
    reply_preview: ReplyPreview | None
    status: str
    created_at: str
    attachment: AttachmentDict | None
    edited: bool
    deleted: str  # "", "sender" or "moderator"
    reactions: list[ReactionDict]
    mentions: list[int]
    link_preview: LinkPreviewDict | None
    pinned: bool
    question: QuestionDict | None
    helped: bool
    notes: list[dict[str, Any]]  # "worth checking" notes: a claim the group has corrected


class QuestionDict(TypedDict):
    state: str  # "open" (no answer yet), "answered" or "resolved"
    detected: bool  # found by the server rather than marked by the sender
    helpful: int | None  # the reply that helped the asker
    first_answer: int | None


def summary(m: Message) -> str:
    """What stands for a message with no words: in a quote, a notification, a preview."""
    if m.deleted_by:
        return str(_("[Message deleted]"))
    attachment = attachment_of(m)
    if attachment is None:
        return ""
    return str(_("[Voice message]") if attachment.kind == Attachment.Kind.VOICE else _("[Picture]"))


def sender_name(m: Message) -> str:
    return m.sender.display_name if m.sender is not None else str(_("Former member"))


def attachment_dict(a: Attachment) -> AttachmentDict:
    return {
        "id": a.pk,
        "kind": a.kind,
        "mime": a.mime,
        "size": a.size,
        "url": f"/media/{a.pk}/",
        "thumb_url": f"/media/{a.pk}/thumb" if a.thumb else None,
        "width": a.width,
        "height": a.height,
        "duration_ms": a.duration_ms,
    }


def attachment_of(m: Message) -> Attachment | None:
    try:
        return m.attachment
    except Attachment.DoesNotExist:
        return None


def message_dict(m: Message, badges: dict[int, str] | None = None) -> MessageDict:
    """`badges`: the group's verified professionals, when a page of messages is being made."""
    from tongzhou.safety.queries import badge_of, notes_of

    attachment = attachment_of(m)
    preview: ReplyPreview | None = None
    helped = False
    if m.reply_to_id is not None and m.reply_to is not None:
        asked = question_of(m.reply_to)
        preview = {
            "id": m.reply_to.pk,
            "sender_id": m.reply_to.sender_id,
            "sender_name": sender_name(m.reply_to),
            "text": plain_text(m.reply_to.text, 120) or summary(m.reply_to),
            "question_state": asked["state"] if asked else None,
        }
        helped = asked is not None and asked["helpful"] == m.pk
    return {
        "id": m.pk,
        "group": m.group_id,
        "sender": {
            "id": m.sender_id,
            "display_name": sender_name(m),
            "badge": badge_of(m, badges),
        },
        "text": m.text,
        "html": to_html(m.text, mention_names(m)),
        "kind": m.kind,
        "reply_to": m.reply_to_id,
        "reply_preview": preview,
        "status": m.status,
        "created_at": m.created_at.isoformat(),
        "attachment": attachment_dict(attachment) if attachment is not None else None,
        "edited": m.edited_at is not None,
        "deleted": m.deleted_by,
        "reactions": reactions_of(m),
        "mentions": sorted(mention_names(m).values()),
        "link_preview": link_preview_of(m),
        "pinned": m.pinned_at is not None,
        "question": question_of(m),
        "helped": helped,  # the reply the asker marked as the one that helped
        "notes": notes_of(m),
    }


def question_of(m: Message) -> QuestionDict | None:
    if m.kind != Message.Kind.QUESTION or m.deleted_by:
        return None
    try:
        q = m.question  # questions.Question, one to one
    except ObjectDoesNotExist:
        return None
    return {
        "state": q.state,
        "detected": q.detected,
        "helpful": q.helpful_id,
        "first_answer": q.first_answer_id,
    }


def mention_names(m: Message) -> dict[str, int]:
    return {mn.name: mn.user_id for mn in m.mentions.all()}


def link_preview_of(m: Message) -> LinkPreviewDict | None:
    try:
        p = m.link_preview
    except LinkPreview.DoesNotExist:
        return None
    if p.status != LinkPreview.Status.READY or m.deleted_by:
        return None
    return {
        "url": p.url,
        "title": p.title,
        "description": p.description,
        "site_name": p.site_name,
        "image_url": f"/media/link/{m.pk}" if p.image else None,
    }


def reactions_of(m: Message) -> list[ReactionDict]:
    by_emoji: dict[str, list[int]] = {}
    for r in sorted(m.reactions.all(), key=lambda r: r.pk):
        by_emoji.setdefault(r.emoji, []).append(r.user_id)
    return [{"emoji": e, "users": by_emoji[e]} for e in REACTIONS if e in by_emoji]


def with_related(qs: Any) -> Any:
    from tongzhou.safety.queries import claim_reports

    return qs.select_related(
        "sender",
        "reply_to__sender",
        "reply_to__attachment",
        "attachment",
        "link_preview",
        "question",
        "reply_to__question",
    ).prefetch_related("reactions", "mentions", claim_reports())
