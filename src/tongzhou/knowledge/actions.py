"""Everything that changes the knowledge base, the newcomer guide and the glossary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.chat.render import plain_text
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group, access_leadership, access_moderation
from tongzhou.knowledge.index import index_entry
from tongzhou.knowledge.models import (
    Category,
    Comment,
    Entry,
    EntryRead,
    GlossaryTerm,
    GuideItem,
    Revision,
    Source,
)
from tongzhou.knowledge.terms import normalize
from tongzhou.questions.models import Question
from tongzhou.text import clean, field_text

MAX_TAGS, MAX_TAG_CHARS, MAX_SOURCES, MAX_GUIDE = 8, 20, 30, 30


def entry_not_found() -> UserError:
    return UserError("entry_not_found", _("There is no such entry in this group."), 404)


def entry_in(membership: Membership, entry_id: object) -> Entry:
    entry = Entry.objects.filter(
        group_id=membership.group_id, pk=parse_id(entry_id, "entry_not_found")
    ).first()
    if entry is None:
        raise entry_not_found()
    return entry


def can_edit(membership: Membership, entry: Entry) -> bool:
    return membership.can_moderate or entry.created_by_id == membership.user_id


def check_tags(value: object) -> list[str]:
    """Tags from a list or a comma-separated string: trimmed, without '#', no repeats."""
    if isinstance(value, str):
        value = value.replace("，", ",").replace("、", ",").split(",")
    if not isinstance(value, list):
        raise UserError("invalid_tags", _("Tags are a list of short words."))
    tags: list[str] = []
    for raw in value:
        tag = clean(str(raw)).lstrip("#＃").strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise UserError(
                "tag_too_long", _("A tag is at most %(max)d characters.") % {"max": MAX_TAG_CHARS}
            )
        if normalize(tag) not in {normalize(t) for t in tags}:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise UserError("too_many_tags", _("At most %(max)d tags.") % {"max": MAX_TAGS})
    return tags


def check_category(value: object) -> str:
    if value not in Category.values:
        raise UserError("invalid_category", _("Choose one of the categories."))
    return str(value)


def _source_messages(membership: Membership, ids: Sequence[object]) -> list[Message]:
    wanted = list(dict.fromkeys(parse_id(i, "message_not_found") for i in ids))
    if len(wanted) > MAX_SOURCES:
        raise UserError(
            "too_many_sources",
            _("An entry can be made from at most %(max)d messages.") % {"max": MAX_SOURCES},
        )
    found = {
        m.pk: m
        for m in Message.objects.filter(
            pk__in=wanted,
            group_id=membership.group_id,
            status__in=(Message.Status.VISIBLE, Message.Status.HISTORY),  # imported too
            deleted_at__isnull=True,
        )
    }
    if len(found) != len(wanted):
        raise UserError("message_not_found", _("One of the chosen messages is not here."), 404)
    return [found[i] for i in sorted(wanted)]


def do_create_entry(
    user: User,
    group_id: int,
    *,
    title: object,
    body: object,
    category: object,
    tags: object = (),
    sources: Sequence[object] = (),
    question: object = None,
) -> Entry:
    """Any member writes an entry (a draft until a moderator reviews it), from scratch, from
    chosen messages, or from a question and its answers."""
    membership = access_group(user, group_id)
    fields = {
        "title": field_text(title, "title", _("Title"), 120),
        "body": field_text(body, "text", _("Text"), 20000),
        "category": check_category(category),
        "tags": check_tags(list(tags) if isinstance(tags, tuple) else tags),
    }
    messages = _source_messages(membership, sources)
    asked = None
    if question is not None:
        asked = Question.objects.filter(
            pk=parse_id(question, "question_not_found"), group_id=group_id
        ).first()
        if asked is None:
            raise UserError("question_not_found", _("There is no such question here."), 404)
    with transaction.atomic():
        now = timezone.now()
        entry = Entry.objects.create(
            group_id=group_id,
            created_by=user,
            created_at=now,
            updated_at=now,
            question_id=asked.pk if asked else None,
            **fields,
        )
        Source.objects.bulk_create(
            Source(entry=entry, message=m, author_id=m.sender_id, sent_at=m.created_at, position=i)
            for i, m in enumerate(messages)
        )
        Revision.objects.create(entry=entry, number=1, editor=user, note=_("Written"), **fields)
        index_entry(entry)
    return entry


def do_edit_entry(
    user: User,
    group_id: int,
    entry_id: object,
    *,
    title: object = None,
    body: object = None,
    category: object = None,
    tags: object = None,
    note: object = "",
) -> Entry:
    """The author or a moderator changes an entry. A changed entry needs a new review, and a
    professional's check no longer applies to it."""
    membership = access_group(user, group_id)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry_in(membership, entry_id).pk)
        if not can_edit(membership, entry):
            raise UserError(
                "not_allowed", _("Only the author and the moderators can change this entry."), 403
            )
        new = {
            "title": entry.title if title is None else field_text(title, "title", _("Title"), 120),
            "body": entry.body if body is None else field_text(body, "text", _("Text"), 20000),
            "category": entry.category if category is None else check_category(category),
            "tags": entry.tags if tags is None else check_tags(tags),
        }
        if all(getattr(entry, k) == v for k, v in new.items()):
            return entry
        for k, v in new.items():
            setattr(entry, k, v)
        entry.updated_at = timezone.now()
        entry.status = Entry.Status.DRAFT
        entry.checked_at, entry.checked_by = None, None
        entry.save()
        number = (entry.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
        Revision.objects.create(
            entry=entry,
            number=number,
            editor=user,
            note=field_text(note, "note", _("What changed"), 200, required=False),
            **new,
        )
        index_entry(entry)
    return entry


def do_review(user: User, group_id: int, entry_id: object) -> Entry:
    """A moderator has read the entry and stands behind it."""
    membership = access_moderation(user, group_id)
    entry = entry_in(membership, entry_id)
    entry.status = Entry.Status.REVIEWED
    entry.reviewed_at, entry.reviewed_by = timezone.now(), user
    entry.save(update_fields=["status", "reviewed_at", "reviewed_by"])
    return entry


def do_check(user: User, group_id: int, entry_id: object, on: bool) -> Entry:
    """A verified professional marks the entry as checked (or takes their mark back)."""
    membership = access_group(user, group_id)
    entry = entry_in(membership, entry_id)
    if membership.verified_professional_at is None:
        raise UserError(
            "not_professional",
            _("Only members the leader has verified as professionals can do this."),
            403,
        )
    if on:
        entry.checked_at, entry.checked_by = timezone.now(), user
    elif entry.checked_by_id in (None, user.pk) or membership.can_moderate:
        entry.checked_at, entry.checked_by = None, None
    else:
        raise UserError("not_allowed", _("Only the professional who checked it can undo it."), 403)
    entry.save(update_fields=["checked_at", "checked_by"])
    return entry


def do_delete_entry(user: User, group_id: int, entry_id: object) -> None:
    """Moderators delete any entry; an author deletes their own draft that was never
    reviewed."""
    membership = access_group(user, group_id)
    entry = entry_in(membership, entry_id)
    own_draft = entry.created_by_id == user.pk and entry.reviewed_at is None
    if not (membership.can_moderate or own_draft):
        raise UserError(
            "not_allowed",
            _("Only a moderator can delete an entry that has been reviewed or is not yours."),
            403,
        )
    entry.delete()


def do_comment(user: User, group_id: int, entry_id: object, text: object) -> Comment:
    membership = access_group(user, group_id)
    entry = entry_in(membership, entry_id)
    return Comment.objects.create(
        entry=entry, author=user, text=field_text(text, "comment", _("Comment"), 2000)
    )


def do_resolve_comment(user: User, group_id: int, entry_id: object, comment_id: object) -> Comment:
    """The comment's author, the entry's author or a moderator marks a comment dealt with."""
    membership = access_group(user, group_id)
    entry = entry_in(membership, entry_id)
    comment = entry.comments.filter(pk=parse_id(comment_id, "comment_not_found")).first()
    if comment is None:
        raise UserError("comment_not_found", _("There is no such comment."), 404)
    if user.pk not in (comment.author_id, entry.created_by_id) and not membership.can_moderate:
        raise UserError("not_allowed", _("Only a moderator or the author can do this."), 403)
    if comment.resolved_at is None:
        comment.resolved_at, comment.resolved_by = timezone.now(), user
        comment.save(update_fields=["resolved_at", "resolved_by"])
    return comment


def mark_read(user_id: int, entry: Entry) -> None:
    EntryRead.objects.get_or_create(entry=entry, user_id=user_id)


def do_set_guide(user: User, group_id: int, entry_ids: Sequence[object]) -> list[GuideItem]:
    """The leader sets the newcomer guide: these entries, in this order."""
    leader = access_leadership(user, group_id)
    ids = list(dict.fromkeys(parse_id(i, "entry_not_found") for i in entry_ids))
    if len(ids) > MAX_GUIDE:
        raise UserError(
            "guide_too_long", _("A guide has at most %(max)d entries.") % {"max": MAX_GUIDE}
        )
    found = set(Entry.objects.filter(group_id=group_id, pk__in=ids).values_list("pk", flat=True))
    if found != set(ids):
        raise entry_not_found()
    with transaction.atomic():
        GuideItem.objects.filter(group_id=leader.group_id).delete()
        return GuideItem.objects.bulk_create(
            GuideItem(group_id=group_id, entry_id=eid, position=i) for i, eid in enumerate(ids)
        )


def guide_of(membership: Membership) -> dict[str, Any]:
    """The guide's steps with whether this member has read each, and the count read."""
    items = list(
        GuideItem.objects.filter(group_id=membership.group_id)
        .select_related("entry")
        .order_by("position", "pk")
    )
    read = set(
        EntryRead.objects.filter(
            user_id=membership.user_id, entry_id__in=[i.entry_id for i in items]
        ).values_list("entry_id", flat=True)
    )
    steps = [{"entry": i.entry, "read": i.entry_id in read} for i in items]
    return {"steps": steps, "read": sum(s["read"] for s in steps), "total": len(steps)}


NEWCOMER_DAYS = 60


def newcomer_guide(membership: Membership) -> dict[str, Any] | None:
    """The guide offered above the chat to a member who joined lately and has not read it
    all; None otherwise."""
    if membership.joined_at < timezone.now() - timedelta(days=NEWCOMER_DAYS):
        return None
    guide = guide_of(membership)
    return guide if 0 < guide["total"] and guide["read"] < guide["total"] else None


def _term_fields(term: object, also: object, meaning: object) -> dict[str, str]:
    return {
        "term": field_text(term, "word", _("Word"), 40),
        "also": field_text(also, "also", _("Also written as"), 200, required=False),
        "meaning": field_text(meaning, "meaning", _("Meaning"), 1000),
    }


def _unique_term(group_id: int, term: str, exclude: int | None = None) -> None:
    others = GlossaryTerm.objects.filter(group_id=group_id)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if any(normalize(t) == normalize(term) for t in others.values_list("term", flat=True)):
        raise UserError(
            "term_exists", _("“%(term)s” is already in the glossary.") % {"term": term}, 409
        )


def do_add_term(
    user: User, group_id: int, *, term: object, also: object = "", meaning: object
) -> GlossaryTerm:
    """Leaders and moderators keep the glossary of the group's own words."""
    access_moderation(user, group_id)
    fields = _term_fields(term, also, meaning)
    _unique_term(group_id, fields["term"])
    return GlossaryTerm.objects.create(group_id=group_id, updated_by=user, **fields)


def term_in(membership: Membership, term_id: object) -> GlossaryTerm:
    term = GlossaryTerm.objects.filter(
        group_id=membership.group_id, pk=parse_id(term_id, "term_not_found")
    ).first()
    if term is None:
        raise UserError("term_not_found", _("There is no such word in the glossary."), 404)
    return term


def do_edit_term(
    user: User,
    group_id: int,
    term_id: object,
    *,
    term: object = None,
    also: object = None,
    meaning: object = None,
) -> GlossaryTerm:
    membership = access_moderation(user, group_id)
    found = term_in(membership, term_id)
    fields = _term_fields(
        found.term if term is None else term,
        found.also if also is None else also,
        found.meaning if meaning is None else meaning,
    )
    _unique_term(group_id, fields["term"], exclude=found.pk)
    for k, v in fields.items():
        setattr(found, k, v)
    found.updated_at, found.updated_by = timezone.now(), user
    found.save()
    return found


def do_delete_term(user: User, group_id: int, term_id: object) -> None:
    term_in(access_moderation(user, group_id), term_id).delete()


def draft_from_question(membership: Membership, question_id: object) -> dict[str, Any]:
    """A starting point for an entry from a question: the question as the title, the
    answer that helped first and then the other answers, all as sources."""
    q = (
        Question.objects.filter(
            pk=parse_id(question_id, "question_not_found"), group_id=membership.group_id
        )
        .select_related("message")
        .first()
    )
    if q is None or q.message.deleted_at is not None:
        raise UserError("question_not_found", _("There is no such question here."), 404)
    answers = list(
        Message.objects.filter(
            reply_to_id=q.pk, deleted_at__isnull=True, status=Message.Status.VISIBLE
        ).order_by("id")[: MAX_SOURCES - 1]
    )
    answers.sort(key=lambda m: m.pk != q.helpful_id)
    body = "\n\n".join(m.text for m in answers if m.text)  # Markdown, as entries are
    return {
        "title": plain_text(q.message.text, 120),
        "body": body,
        "sources": [q.message, *answers],
        "question": q.pk,
    }


def draft_from_messages(membership: Membership, ids: Sequence[object]) -> dict[str, Any]:
    messages = _source_messages(membership, ids)
    return {
        "title": plain_text(messages[0].text, 120) if messages else "",
        "body": "\n\n".join(m.text for m in messages if m.text),
        "sources": messages,
        "question": None,
    }
