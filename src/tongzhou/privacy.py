"""A member's rights over their data: download all of it, or delete the account.

One place lists everything kept about a person, for both the export and the erasure, so a
new kind of data is added to both at once.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou import storage
from tongzhou.accounts.actions import check_current_password, do_deactivate, profile_of
from tongzhou.accounts.models import (
    HEALTH_FIELDS,
    ApiToken,
    Consent,
    SignInFailure,
    User,
    UserSession,
)
from tongzhou.accounts.throttle import check_sign_in_allowed
from tongzhou.chat.models import Attachment, Message, Reaction
from tongzhou.chat.serialize import attachment_of
from tongzhou.errors import UserError
from tongzhou.groups.models import Application, Group, Membership
from tongzhou.knowledge.index import purge_deleted_terms
from tongzhou.questions.actions import refresh_answers
from tongzhou.questions.models import HelperSettings

README = """Tongzhou: everything kept about your account, exported {when}.

account.json    your account, profile (with health details), consents, devices and app tokens
groups.json     your memberships and applications (with your answers)
messages.json   every message you sent, in every group
reactions.json  your reactions to messages
knowledge.json  the knowledge entry versions and comments you wrote, and the entries you read
safety.json     the reports you made, and the moderators' warnings, mutes and other actions about you
media/          the pictures and voice messages you sent (named in messages.json)

Files are JSON (UTF-8). Messages by others are not included: they are theirs.
"""


def _when(value: Any) -> str | None:
    return value.isoformat() if value else None


def _media_path(a: Attachment) -> str:
    return f"media/{a.kind}-{a.pk}.{a.extension}"


def _attachment_entry(a: Attachment | None) -> dict[str, Any]:
    if a is None:
        return {}
    return {"attachment": {"kind": a.kind, "file": _media_path(a), "duration_ms": a.duration_ms}}


def export_data(user: User) -> dict[str, Any]:
    profile = profile_of(user)
    account = {
        "username": user.username,
        "display_name": user.display_name,
        "joined": _when(user.date_joined),
        "last_sign_in": _when(user.last_login),
        "profile": {
            "role": profile.role,
            "credit_in_knowledge": profile.credit_in_knowledge,
            **{f: getattr(profile, f) for f in HEALTH_FIELDS},
            **{f"{f}_visibility": getattr(profile, f"{f}_visibility") for f in HEALTH_FIELDS},
        },
        "consents": [
            {"kind": c.kind, "granted": _when(c.granted_at), "withdrawn": _when(c.withdrawn_at)}
            for c in Consent.objects.filter(user=user).order_by("granted_at")
        ],
        "devices": [
            {"device": s.device, "signed_in": _when(s.started_at), "last_active": _when(s.seen_at)}
            for s in UserSession.objects.filter(user=user)
        ],
        "app_tokens": [
            {"name": t.name, "created": _when(t.created_at), "last_used": _when(t.last_used_at)}
            for t in ApiToken.objects.filter(user=user)
        ],
    }
    groups = {
        "memberships": [
            {
                "group": m.group.name,
                "group_id": m.group_id,
                "role": m.role,
                "status": m.status,
                "joined": _when(m.joined_at),
                "verified_professional": _when(m.verified_professional_at),
            }
            for m in Membership.objects.filter(user=user).select_related("group")
        ],
        "helping_with_questions": [
            {"accepts": h.accepts, "max_per_hour": h.max_per_hour}
            for h in HelperSettings.objects.filter(user=user)
        ],
        "applications": [
            {
                "group": a.group.name,
                "group_id": a.group_id,
                "status": a.status,
                "role": a.role,
                "diagnosis": a.diagnosis,
                "hospital": a.hospital,
                "stage": a.stage,
                "note": a.note,
                "answers": a.answers,
                "reason": a.reason,
                "sent": _when(a.created_at),
                "decided": _when(a.decided_at),
            }
            for a in Application.objects.filter(user=user).select_related("group")
        ],
    }
    messages = [
        {
            "id": m.pk,
            "group": m.group.name,
            "group_id": m.group_id,
            "text": m.text,
            "kind": m.kind,
            "reply_to": m.reply_to_id,
            "status": m.status,
            "sent": _when(m.created_at),
            "edited": _when(m.edited_at),
            "deleted": m.deleted_by or None,
            **_attachment_entry(attachment_of(m)),
        }
        for m in Message.objects.filter(sender=user)
        .select_related("group", "attachment")
        .order_by("id")
    ]
    reactions = [
        {
            "message": r.message_id,
            "group_id": r.message.group_id,
            "emoji": r.emoji,
            "at": _when(r.created_at),
        }
        for r in Reaction.objects.filter(user=user).select_related("message").order_by("id")
    ]
    return {
        "account.json": account,
        "groups.json": groups,
        "messages.json": messages,
        "reactions.json": reactions,
        "knowledge.json": _knowledge_of(user),
        "safety.json": _safety_of(user),
        "direct_messages.json": _direct_messages_of(user),
        "community.json": _community_of(user),
    }


def _community_of(user: User) -> dict[str, Any]:
    """What the person did in the groups' community life: events they answered or asked at,
    their routines and check-ins, reminders, milestones and reactions, requests for help and
    replies, suggestions, comments and votes, the topics they follow."""
    from tongzhou.community import models as c

    def rows(qs: Any, *fields: str) -> list[dict[str, Any]]:
        return [
            {f: (_when(v) if hasattr(v, "isoformat") else v) for f, v in row.items()}
            for row in qs.order_by("pk").values("pk", *fields)
        ]

    return {
        "event_rsvps": rows(c.Rsvp.objects.filter(user=user), "event_id", "status", "updated_at"),
        "event_questions": rows(
            c.EventQuestion.objects.filter(author=user), "event_id", "text", "created_at"
        ),
        "event_votes": rows(c.EventQuestionVote.objects.filter(user=user), "question_id"),
        "own_routines": rows(
            c.Routine.objects.filter(owner=user),
            "group_id",
            "title",
            "note",
            "time",
            "weekdays",
            "once_on",
            "created_at",
            "archived_at",
        ),
        "check_ins": rows(c.CheckIn.objects.filter(user=user), "routine_id", "day"),
        "reminders": rows(
            c.Reminder.objects.filter(user=user), "group_id", "title", "due_at", "read_at"
        ),
        "milestones": rows(
            c.Milestone.objects.filter(user=user),
            "group_id",
            "kind",
            "text",
            "years",
            "day",
            "remind_yearly",
            "created_at",
        ),
        "milestone_reactions": rows(
            c.MilestoneReaction.objects.filter(user=user), "milestone_id", "emoji"
        ),
        "aid_requests": rows(
            c.AidRequest.objects.filter(author=user),
            "group_id",
            "kind",
            "title",
            "details",
            "status",
            "decision_reason",
            "created_at",
        ),
        "aid_replies": rows(
            c.AidReply.objects.filter(author=user), "request_id", "text", "offer", "created_at"
        ),
        "suggestions": rows(
            c.Suggestion.objects.filter(author=user),
            "group_id",
            "title",
            "body",
            "status",
            "answer",
            "created_at",
        ),
        "suggestion_comments": rows(
            c.SuggestionComment.objects.filter(author=user), "suggestion_id", "text", "created_at"
        ),
        "suggestion_votes": rows(c.SuggestionVote.objects.filter(user=user), "suggestion_id"),
        "topics_followed": rows(c.TopicFollow.objects.filter(user=user), "group_id", "tag"),
    }


def _direct_messages_of(user: User) -> dict[str, Any]:
    """The person's own conversations (both sides: each was written to them or by them), the
    members they blocked and the direct messages they reported."""
    from django.db.models import Q

    from tongzhou.community.models import Block, Conversation, DirectReport

    conversations = []
    for c in (
        Conversation.objects.filter(Q(user_a=user) | Q(user_b=user))
        .select_related("user_a", "user_b")
        .order_by("id")
    ):
        other = c.user_b if c.user_a_id == user.pk else c.user_a
        conversations.append(
            {
                "id": c.pk,
                "with": other.display_name,
                "group_id": c.group_id,
                "started": _when(c.created_at),
                "messages": [
                    {
                        "id": m.pk,
                        "from_you": m.sender_id == user.pk,
                        "text": m.text,
                        "sent": _when(m.created_at),
                    }
                    for m in c.messages.order_by("id")
                ],
            }
        )
    return {
        "conversations": conversations,
        "blocked": [
            {"member": b.blocked.display_name, "since": _when(b.created_at)}
            for b in Block.objects.filter(blocker=user).select_related("blocked").order_by("id")
        ],
        "reports_made": [
            {
                "message": r.message_id,
                "reason": r.reason,
                "note": r.note,
                "made": _when(r.created_at),
                "handled": _when(r.handled_at),
            }
            for r in DirectReport.objects.filter(reporter=user).order_by("id")
        ],
    }


def _safety_of(user: User) -> dict[str, Any]:
    """Reports the person made, and what moderators did about them (with their reasons)."""
    from tongzhou.safety.models import AuditEntry, Report

    return {
        "reports_made": [
            {
                "group_id": r.group_id,
                "message": r.message_id,
                "reason": r.reason,
                "note": r.note,
                "made": _when(r.created_at),
                "status": r.status,
            }
            for r in Report.objects.filter(reporter=user).order_by("id")
        ],
        "moderator_actions_about_you": [
            {
                "group_id": e.group_id,
                "action": e.action,
                "message": e.message_id,
                "reason": e.reason,
                "until": _when(e.until),
                "at": _when(e.created_at),
            }
            for e in AuditEntry.objects.filter(member=user).order_by("id")
        ],
    }


def _knowledge_of(user: User) -> dict[str, Any]:
    """What the person wrote into the knowledge base: entry versions and comments."""
    from tongzhou.knowledge.models import Comment, EntryRead, Revision

    return {
        "entry_versions": [
            {
                "entry": r.entry_id,
                "group_id": r.entry.group_id,
                "version": r.number,
                "title": r.title,
                "text": r.body,
                "category": r.category,
                "tags": r.tags,
                "note": r.note,
                "saved": _when(r.created_at),
            }
            for r in Revision.objects.filter(editor=user).select_related("entry").order_by("id")
        ],
        "comments": [
            {
                "entry": c.entry_id,
                "text": c.text,
                "written": _when(c.created_at),
                "dealt_with": _when(c.resolved_at),
            }
            for c in Comment.objects.filter(author=user).order_by("id")
        ],
        "entries_read": [
            {"entry": r.entry_id, "read": _when(r.read_at)}
            for r in EntryRead.objects.filter(user=user).order_by("id")
        ],
    }


def export_zip(user: User) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", README.format(when=timezone.now().isoformat()))
        for name, data in export_data(user).items():
            z.writestr(name, json.dumps(data, ensure_ascii=False, indent=2))
        for a in Attachment.objects.filter(uploader=user, message__isnull=False):
            z.writestr(_media_path(a), storage.read(a.file))
    return buffer.getvalue()


def export_response(user: User) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d")
    response = HttpResponse(export_zip(user), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="tongzhou-{stamp}.zip"'
    response["Cache-Control"] = "no-store"
    return response


class MessagesChoice:
    KEEP = "keep"  # stay in the conversation, signed "Former member"
    REMOVE = "remove"  # deleted with the account


def _hand_over_leadership(user: User) -> None:
    """A leaving leader's groups go to their longest-serving moderator (else member); a group
    with nobody else in it goes with them."""
    for lead in Membership.objects.filter(
        user=user, role=Membership.GroupRole.LEADER, status=Membership.Status.ACTIVE
    ):
        others = Membership.objects.filter(
            group_id=lead.group_id, status=Membership.Status.ACTIVE
        ).exclude(user=user)
        if others.filter(role=Membership.GroupRole.LEADER).exists():
            continue
        heir = (
            others.filter(role=Membership.GroupRole.MODERATOR).order_by("joined_at").first()
            or others.order_by("joined_at").first()
        )
        if heir is None:
            Group.objects.filter(pk=lead.group_id).delete()
        else:
            heir.role = Membership.GroupRole.LEADER
            heir.save(update_fields=["role"])


def do_delete_account(user: User, password: str, messages: str) -> None:
    """Delete the account and everything about the person; their messages stay as a former
    member's or go, as they choose. Nothing identifying is left behind."""
    if messages not in (MessagesChoice.KEEP, MessagesChoice.REMOVE):
        raise UserError("invalid_choice", _("Choose whether your messages stay or are deleted."))
    check_sign_in_allowed(user.username, None)
    check_current_password(user, password)
    with transaction.atomic():
        do_deactivate(user)  # closes open sockets once this commits
        _hand_over_leadership(user)
        mine = Message.objects.filter(sender=user)
        if messages == MessagesChoice.REMOVE:
            answered = set(mine.exclude(reply_to=None).values_list("reply_to_id", flat=True))
            mine.delete()  # replies to them keep their own text; the quote goes
            refresh_answers(answered)  # a question another member also answered stays answered
        else:
            mine.update(sender=None)  # their pictures and recordings stay with them
        Attachment.objects.filter(uploader=user, message__isnull=True).delete()  # never sent
        from tongzhou.safety.models import Report

        # What they wrote to the moderators goes; that a report was made stays (unsigned).
        Report.objects.filter(reporter=user).update(note="")
        SignInFailure.objects.filter(username=user.username.lower()).delete()
        user.delete()  # profile, consents, tokens, memberships, applications, invites
        transaction.on_commit(purge_deleted_terms)
