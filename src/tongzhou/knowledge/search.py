"""Search across the groups a member may read: knowledge entries first, then glossary words,
then messages newest first. The database narrows (knowledge/index.py); every candidate is
then checked exactly (knowledge/terms.py), so both databases give the same results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.chat.render import plain_text
from tongzhou.chat.serialize import sender_name
from tongzhou.errors import UserError
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import not_found
from tongzhou.knowledge.index import entry_text, match_clause
from tongzhou.knowledge.models import Entry
from tongzhou.knowledge.queries import sorted_terms
from tongzhou.knowledge.terms import Query, parse, snippet
from tongzhou.notify.queries import permalink

TYPES = ("entry", "term", "message")
MAX_LIMIT = 50
ENTRY_LIMIT = 10
BATCHES = 8  # candidate batches read per request; the page says where to go on
MAX_PARTS = 12


@dataclass
class Filters:
    group: int | None = None
    sender: int | None = None
    since: date | None = None  # first day, inclusive
    until: date | None = None  # last day, inclusive
    questions: bool = False
    answered: bool = False  # questions someone has answered
    attachments: bool = False
    type: str | None = None
    before: int | None = None  # messages only: continue below this id
    limit: int = 20

    @property
    def message_only(self) -> bool:
        """Filters that only messages have: entries and glossary words are left out."""
        only_messages = (self.sender, self.since, self.until, self.before)
        return any(only_messages) or self.questions or self.answered or self.attachments


def readable_groups(user: User) -> dict[int, str]:
    return dict(
        Membership.objects.filter(user=user, status=Membership.Status.ACTIVE).values_list(
            "group_id", "group__name"
        )
    )


def search(user: User, raw: str, f: Filters) -> dict[str, Any]:
    query = parse(raw)
    if query.empty:
        raise UserError("empty_query", _("Type a word or two to search for."))
    if len(query.parts) > MAX_PARTS:
        raise UserError(
            "too_many_words",
            _("Search for at most %(max)d words at a time.") % {"max": MAX_PARTS},
        )
    if f.type not in (None, *TYPES):
        raise UserError("invalid_type", _("The type is 'entry', 'term' or 'message'."))
    if not 1 <= f.limit <= MAX_LIMIT:
        raise UserError("invalid_limit", _("Ask for between 1 and 50 results."))
    if f.message_only and f.type in ("entry", "term"):
        raise UserError(
            "filters_for_messages",
            _("Sender, dates, questions and attachments only narrow messages."),
        )
    if f.since and f.until and f.since > f.until:
        raise UserError("invalid_dates", _("The start date is after the end date."))
    groups = readable_groups(user)
    if f.group is not None:
        if f.group not in groups:
            raise not_found()
        groups = {f.group: groups[f.group]}
    results: list[dict[str, Any]] = []
    wants = (lambda t: f.type in (None, t)) if not f.message_only else (lambda t: t == "message")
    if groups and wants("entry"):
        results += _entries(query, groups, f.limit if f.type == "entry" else ENTRY_LIMIT)
    if groups and wants("term"):
        results += _terms(query, groups)
    next_before = None
    if groups and wants("message"):
        found, next_before = _messages(query, groups, f)
        results += found
    return {"results": results, "next_before": next_before}


def _highlighted(text: str, query: Query, width: int) -> dict[str, Any]:
    piece, spans = snippet(text, query, width)
    return {"snippet": piece, "highlights": [list(s) for s in spans]}


def _entries(query: Query, groups: dict[int, str], limit: int) -> list[dict[str, Any]]:
    """Entries whose title matches first, then the others; in each, reviewed ones first,
    then the most recently changed. Candidates come from the database in that order, so only
    a page's worth is checked exactly, however many entries share a common word."""
    terms = query.db_terms()
    title_hits = _ranked_entries(query, groups, terms, limit, title=True, skip=set())
    others = _ranked_entries(
        query, groups, terms, limit - len(title_hits), title=False, skip={e.pk for e in title_hits}
    )
    entries = title_hits + others
    out = []
    for e in entries[:limit]:
        title = _highlighted(e.title, query, 120)
        out.append(
            {
                "type": "entry",
                "id": e.pk,
                "group": e.group_id,
                "group_name": groups[e.group_id],
                "title": e.title,
                "title_highlights": title["highlights"],
                **_highlighted(plain_text(e.body), query, 80),
                "category": e.category,
                "status": e.status,
                "checked": e.checked_at is not None,
                "updated_at": e.updated_at.isoformat(),
                "url": reverse("groups:entry", args=[e.group_id, e.pk]),
            }
        )
    return out


def _ranked_entries(
    query: Query,
    groups: dict[int, str],
    terms: list[tuple[str, bool]],
    limit: int,
    *,
    title: bool,
    skip: set[int],
) -> list[Entry]:
    """Up to `limit` entries that truly match, in ranking order, read in batches."""
    if limit <= 0:
        return []
    frm, where, col, params = match_clause("entry", terms, title=title)
    ids = ",".join("%s" for _ in groups)
    sql = (
        f"SELECT e.id FROM {frm} JOIN knowledge_entry e ON e.id = {col} "  # noqa: S608  # nosec B608
        f"WHERE {where} AND e.group_id IN ({ids}) "
        "ORDER BY CASE WHEN e.status = %s THEN 0 ELSE 1 END, e.updated_at DESC, e.id DESC "
        "LIMIT %s OFFSET %s"
    )
    found: list[Entry] = []
    batch, offset = max(limit * 3, 30), 0
    with connection.cursor() as cur:
        for _round in range(BATCHES):  # like messages: a bounded read per request
            if len(found) >= limit:
                break
            # The fragments are constants of index.py; every value is a parameter.
            args = [*params, *groups, Entry.Status.REVIEWED, batch, offset]
            cur.execute(sql, args)  # nosemgrep: tongzhou-sql-string-formatting
            page = [row[0] for row in cur.fetchall()]
            rows = Entry.objects.in_bulk([i for i in page if i not in skip])
            # A title hit has every part in its title (and so in the entry).
            found += [
                rows[i]
                for i in page
                if i in rows and query.matches(rows[i].title if title else entry_text(rows[i]))
            ]
            if len(page) < batch:
                break
            offset += batch
            batch = min(batch * 2, 500)
    return found[:limit]


def _terms(query: Query, groups: dict[int, str]) -> list[dict[str, Any]]:
    out = []
    for t in sorted_terms(list(groups)):
        text = "\n".join([*t.spellings(), t.meaning])
        if not query.matches(text):
            continue
        out.append(
            {
                "type": "term",
                "id": t.pk,
                "group": t.group_id,
                "group_name": groups[t.group_id],
                "term": t.term,
                "also": t.spellings()[1:],
                **_highlighted(t.meaning, query, 80),
                "url": reverse("groups:glossary", args=[t.group_id]) + f"#term-{t.pk}",
            }
        )
    return out


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def _db_time(moment: datetime) -> Any:
    """As the ORM would write it: raw SQL on SQLite compares text, stored in UTC."""
    return connection.ops.adapt_datetimefield_value(moment)


def _messages(
    query: Query, groups: dict[int, str], f: Filters
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of matching messages, newest first, and where the next page starts (None at
    the end). A page may be short when many candidates were near misses."""
    frm, where, col, params = match_clause("message", query.db_terms())
    conds = [where, "m.group_id IN (" + ",".join("%s" for _ in groups) + ")"]
    conds += ["m.status IN (%s, %s)", "m.deleted_at IS NULL"]  # the chat and its history
    args: list[Any] = [*params, *groups, Message.Status.VISIBLE, Message.Status.HISTORY]
    if f.sender is not None:
        conds.append("m.sender_id = %s")
        args.append(f.sender)
    if f.since is not None:
        conds.append("m.created_at >= %s")
        args.append(_db_time(_day_start(f.since)))
    if f.until is not None:
        conds.append("m.created_at < %s")
        args.append(_db_time(_day_start(f.until + timedelta(days=1))))
    if f.questions or f.answered:
        conds.append("m.kind = %s")
        args.append(Message.Kind.QUESTION)
    if f.answered:
        conds.append(
            "EXISTS (SELECT 1 FROM questions_question q WHERE q.message_id = m.id "
            "AND q.first_answer_id IS NOT NULL)"
        )
    if f.attachments:
        conds.append("EXISTS (SELECT 1 FROM chat_attachment a WHERE a.message_id = m.id)")
    sql = (
        f"SELECT m.id, m.text FROM {frm} JOIN chat_message m ON m.id = {col} "  # noqa: S608  # nosec B608  (fragments are ours; values are parameters)
        f"WHERE {' AND '.join(conds)} AND {col} < %s ORDER BY {col} DESC LIMIT %s"
    )
    batch = max((f.limit + 1) * 2, 50)
    below = f.before if f.before is not None else 2**62
    hits: list[int] = []
    scanned_to: int | None = None  # the last row examined, where a next page goes on
    with connection.cursor() as cur:
        for _round in range(BATCHES):
            # The fragments are constants of index.py; every value is a parameter.
            cur.execute(sql, [*args, below, batch])  # nosemgrep: tongzhou-sql-string-formatting
            rows = cur.fetchall()
            hits += [mid for mid, text in rows if query.matches(text)]
            scanned_to = rows[-1][0] if len(rows) == batch else None
            if len(hits) > f.limit or scanned_to is None:
                break
            below = scanned_to
            batch = min(batch * 2, 2000)  # many near misses: read further per round
    more = len(hits) > f.limit or scanned_to is not None
    next_from = hits[f.limit - 1] if len(hits) > f.limit else scanned_to
    found = {
        m.pk: m
        for m in Message.objects.filter(pk__in=hits[: f.limit]).select_related(
            "sender", "question", "attachment"
        )
    }
    out = []
    for mid in hits[: f.limit]:
        m = found[mid]
        question = getattr(m, "question", None) if m.kind == Message.Kind.QUESTION else None
        attachment = getattr(m, "attachment", None)
        out.append(
            {
                "type": "message",
                "id": m.pk,
                "group": m.group_id,
                "group_name": groups[m.group_id],
                **_highlighted(plain_text(m.text) or m.text, query, 80),
                "sender": {"id": m.sender_id, "display_name": sender_name(m)},
                "created_at": m.created_at.isoformat(),
                "kind": m.kind,
                "question_state": question.state if question is not None else None,
                "attachment": attachment.kind if attachment is not None else None,
                "url": permalink(m.group_id, m.pk)
                if m.status != Message.Status.HISTORY
                else reverse("imports:history", args=[m.group_id]) + f"?m={m.pk}",
                "history": m.status == Message.Status.HISTORY,
            }
        )
    return out, next_from if more else None
