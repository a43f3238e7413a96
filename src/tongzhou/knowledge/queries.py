"""Reading the knowledge base: entries as clients see them, lists, history and its diff."""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.chat.render import to_html
from tongzhou.errors import UserError
from tongzhou.groups.models import Group, Membership
from tongzhou.knowledge.models import Category, Entry, GlossaryTerm, Revision, Source
from tongzhou.knowledge.terms import normalize
from tongzhou.notify.queries import permalink

CHAR_DIFF_LIMIT = 3000  # longer changed blocks are shown line by line


def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "display_name": user.display_name}


def credit(author: User | None) -> str:
    """How a source's author is named: by name, unless they chose not to be."""
    if author is None:
        return _("Former member")
    profile = getattr(author, "profile", None)
    if profile is not None and not profile.credit_in_knowledge:
        return _("A group member")
    return author.display_name


def due_for_review(entry: Entry, group: Group) -> bool:
    if entry.status != Entry.Status.REVIEWED or entry.reviewed_at is None:
        return False
    return entry.reviewed_at < timezone.now() - timedelta(days=30 * group.review_after_months)


def sources_of(entry: Entry) -> list[dict[str, Any]]:
    out = []
    for s in Source.objects.filter(entry=entry).select_related("author__profile", "message"):
        here = s.message is not None and s.message.deleted_at is None
        out.append(
            {
                "message": s.message_id if here else None,
                "author": credit(s.author),
                "sent_at": s.sent_at.isoformat(),
                "url": permalink(entry.group_id, s.message_id) if here and s.message_id else None,
            }
        )
    return out


def entry_dict(entry: Entry, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": entry.pk,
        "group": entry.group_id,
        "title": entry.title,
        "category": entry.category,
        "category_label": str(Category(entry.category).label),
        "tags": entry.tags,
        "status": entry.status,
        "created_by": person(entry.created_by),
        "created_at": entry.created_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
        "reviewed": {"at": entry.reviewed_at.isoformat(), "by": person(entry.reviewed_by)}
        if entry.reviewed_at
        else None,
        "changed_since_review": entry.reviewed_at is not None
        and entry.status == Entry.Status.DRAFT,
        "checked": {"at": entry.checked_at.isoformat(), "by": person(entry.checked_by)}
        if entry.checked_at
        else None,
        "due_for_review": due_for_review(entry, entry.group),
        "question": entry.question_id,
        "url": reverse("groups:entry", args=[entry.group_id, entry.pk]),
    }
    if full:
        data["body"] = entry.body
        data["html"] = to_html(entry.body)
        data["sources"] = sources_of(entry)
        data["comments"] = [
            {
                "id": c.pk,
                "author": person(c.author),
                "text": c.text,
                "created_at": c.created_at.isoformat(),
                "resolved": c.resolved_at is not None,
            }
            for c in entry.comments.select_related("author")
        ]
    return data


def entries_of(
    group: Group, *, category: str | None = None, tag: str | None = None, state: str | None = None
) -> QuerySet[Entry]:
    """A group's entries, newest change first; `state`: draft, reviewed, due (for review)."""
    if category and category not in Category.values:
        raise UserError("invalid_category", _("Choose one of the categories."))
    if state not in (None, "", "draft", "reviewed", "due"):
        raise UserError("invalid_state", _("The state is 'draft', 'reviewed' or 'due'."))
    qs = (
        Entry.objects.filter(group=group)
        .select_related("created_by", "reviewed_by", "checked_by", "group")
        .annotate(open_comments=Count("comments", filter=Q(comments__resolved_at__isnull=True)))
        .order_by("-updated_at", "-pk")
    )
    if category:
        qs = qs.filter(category=category)
    if state == "draft":
        qs = qs.filter(status=Entry.Status.DRAFT)
    elif state == "reviewed":
        qs = qs.filter(status=Entry.Status.REVIEWED)
    elif state == "due":
        cutoff = timezone.now() - timedelta(days=30 * group.review_after_months)
        qs = qs.filter(status=Entry.Status.REVIEWED, reviewed_at__lt=cutoff)
    if tag:
        # Tags are few per entry; JSON containment differs by database, so filter here.
        return qs.filter(pk__in=[e.pk for e in qs if tag in e.tags])
    return qs


def category_counts(group: Group) -> list[dict[str, Any]]:
    counts = dict(
        Entry.objects.filter(group=group)
        .values_list("category")
        .annotate(n=Count("pk"))
        .values_list("category", "n")
    )
    return [{"value": c.value, "label": c.label, "count": counts.get(c.value, 0)} for c in Category]


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """(op, text) pieces, op one of "same", "del", "ins": by character inside changed lines,
    since Chinese has no spaces for a word diff to hold on to."""
    out: list[tuple[str, str]] = []
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            out.append(("same", before))
        elif op == "replace" and len(before) + len(after) <= CHAR_DIFF_LIMIT:
            chars = difflib.SequenceMatcher(None, before, after, autojunk=False)
            for cop, c1, c2, d1, d2 in chars.get_opcodes():
                if cop == "equal":
                    out.append(("same", before[c1:c2]))
                else:
                    if c2 > c1:
                        out.append(("del", before[c1:c2]))
                    if d2 > d1:
                        out.append(("ins", after[d1:d2]))
        else:
            if before:
                out.append(("del", before))
            if after:
                out.append(("ins", after))
    return out


def history(entry: Entry) -> list[dict[str, Any]]:
    """Revisions newest first, each with what it changed against the one before."""
    revisions = list(entry.revisions.select_related("editor").order_by("number"))
    out = []
    previous: Revision | None = None
    for r in revisions:
        out.append(
            {
                "number": r.number,
                "editor": person(r.editor),
                "note": r.note,
                "created_at": r.created_at.isoformat(),
                "at": r.created_at,
                "title_diff": diff(previous.title, r.title) if previous else [("ins", r.title)],
                "body_diff": diff(previous.body, r.body) if previous else [("ins", r.body)],
                "category_changed": previous is not None and previous.category != r.category,
                "category": str(Category(r.category).label)
                if r.category in Category.values
                else "",
                "tags": r.tags,
            }
        )
        previous = r
    return out[::-1]


def sorted_terms(group_ids: list[int]) -> list[GlossaryTerm]:
    """Glossary words by their folded spelling, not the database's collation, so that every
    database lists (and searches) them in the same order."""
    terms = GlossaryTerm.objects.filter(group_id__in=group_ids)
    return sorted(terms, key=lambda t: (normalize(t.term), t.pk))


def term_dict(t: GlossaryTerm) -> dict[str, Any]:
    return {"id": t.pk, "term": t.term, "also": t.spellings()[1:], "meaning": t.meaning}


def glossary_of(group_id: int) -> list[dict[str, Any]]:
    return [term_dict(t) for t in sorted_terms([group_id])]


def glossary_config(group_id: int) -> dict[str, Any]:
    """What static/tongzhou/glossary.js needs to mark the words and explain them."""
    return {
        "terms": glossary_of(group_id),
        "labels": {
            "all": _("All the group's words"),
            "close": _("Close"),
            "read": _("Read aloud"),
            "url": reverse("groups:glossary", args=[group_id]),
        },
    }


def is_professional(membership: Membership) -> bool:
    return membership.verified_professional_at is not None
