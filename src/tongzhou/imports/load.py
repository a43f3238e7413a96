"""Records into the group: placeholders for the people, messages with status "history",
system lines apart, reply links, search terms; all in one transaction, and nothing twice.

Each record gets a key (its export id with its time and sender, else a hash of time, sender,
text and attachments, counted when the same line occurs more than once): a second import of
the same file, or of a later export that overlaps, finds every earlier line's key and adds
only the new ones. Keys use UTC, so import one chat's exports with the same timezone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Max

from tongzhou.accounts.models import Profile, User
from tongzhou.chat.models import Message
from tongzhou.groups.models import Group
from tongzhou.imports.models import HistoryEvent, ImportedMessage, ImportedPerson, ImportJob
from tongzhou.imports.records import Record
from tongzhou.knowledge.models import MessageTerms
from tongzhou.knowledge.terms import index_terms_many
from tongzhou.questions.detect import is_question

BATCH = 2000
NAME_MAX = 40  # User.display_name


@dataclass
class Loaded:
    added: int
    skipped: int  # already imported before
    events: int
    people_new: int
    message_ids: list[int]
    rows: list[Row] = field(default_factory=list)


def record_keys(records: Iterable[Record]) -> list[str]:
    seen: Counter[str] = Counter()
    keys = []
    for r in records:
        at = repr(r.at.timestamp())  # the instant, whatever zone it was read in
        if r.ref:
            base = f"r\x1f{r.ref}\x1f{at}\x1f{r.sender}"
        else:
            base = f"m\x1f{at}\x1f{r.sender}\x1f{r.system or ''}\x1f{r.text}\x1f{'|'.join(r.media)}"
        seen[base] += 1
        keys.append(
            hashlib.sha1(f"{base}\x1f{seen[base]}".encode(), usedforsecurity=False).hexdigest()
        )
    return keys


def _existing(model: Any, group_id: int, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), BATCH):
        found.update(
            model.objects.filter(group_id=group_id, key__in=keys[i : i + BATCH]).values_list(
                "key", flat=True
            )
        )
    return found


def pseudonym(name: str, chosen: dict[str, str]) -> str:
    return (chosen.get(name) or name).strip()[:NAME_MAX] or "?"


def _people(
    group_id: int, names: set[str], chosen: dict[str, str]
) -> tuple[dict[str, ImportedPerson], int]:
    people = {p.name: p for p in ImportedPerson.objects.filter(group_id=group_id, name__in=names)}
    missing = sorted(names - set(people))
    users = [
        User(
            username=f"imported-{secrets.token_hex(8)}",
            display_name=pseudonym(n, chosen),
            is_active=False,  # a placeholder never signs in
            password=make_password(None),
        )
        for n in missing
    ]
    User.objects.bulk_create(users)
    Profile.objects.bulk_create(Profile(user=u) for u in users)
    made = ImportedPerson.objects.bulk_create(
        ImportedPerson(group_id=group_id, name=n, user=u)
        for n, u in zip(missing, users, strict=True)
    )
    people.update({p.name: p for p in made})
    return people, len(made)


@dataclass
class Row:
    """An imported message as mining reads it (what the database now holds)."""

    pk: int
    sender_id: int
    kind: str
    text: str
    created_at: dt.datetime
    reply_to_id: int | None = None


def _insert(table: str, columns: Sequence[str], values: list[tuple[Any, ...]]) -> None:
    """Plain INSERTs, many at once. bulk_create prepares every value through its field and
    builds SQL per 66 rows (SQLite's parameter limit): at 82,389 messages that was ~9 s of
    the import's 15 s of writing (bench/imports.py). Values here are made ready by the
    caller; table and column names are ours."""
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608  # nosec B608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cur:
        for i in range(0, len(values), BATCH):
            cur.executemany(sql, values[i : i + BATCH])  # nosemgrep: tongzhou-sql-string-formatting


def _message_ids(group_id: int, after: int, expected: int) -> list[int]:
    """The ids of the history messages just inserted, in insertion order. The group row is
    locked for the import (no other import of this group runs), and only imports write
    history messages; ids grow in insertion order on SQLite (AUTOINCREMENT, under the write
    lock) and PostgreSQL (one session's sequence calls)."""
    ids = list(
        Message.objects.filter(group_id=group_id, status=Message.Status.HISTORY, pk__gt=after)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(ids) != expected:  # never seen; refuse rather than mislink
        raise RuntimeError("imported message ids could not be matched")
    return ids


def load(
    job: ImportJob,
    records: list[Record],
    progress: Callable[[float], None] = lambda f: None,
) -> Loaded:
    """Write what is new of `records` into the job's group. All or nothing."""
    gid = job.group_id
    keys = record_keys(records)
    messages = [(r, k) for r, k in zip(records, keys, strict=True) if r.system is None]
    events = [(r, k) for r, k in zip(records, keys, strict=True) if r.system is not None]
    old = _existing(ImportedMessage, gid, [k for _r, k in messages])
    old_events = _existing(HistoryEvent, gid, [k for _r, k in events])
    new = [(r, k) for r, k in messages if k not in old]
    new_events = [(r, k) for r, k in events if k not in old_events]
    kinds = [Message.Kind.QUESTION if is_question(r.text) else Message.Kind.TEXT for r, _k in new]
    terms = [" ".join(t) for t in index_terms_many([r.text for r, _k in new])]
    progress(0.2)
    at = connection.ops.adapt_datetimefield_value
    ids, rows, people_new = _write(job, new, new_events, kinds, terms, at)
    return Loaded(
        added=len(rows),
        skipped=len(messages) - len(new) + len(events) - len(new_events),
        events=len(new_events),
        people_new=people_new,
        message_ids=ids,
        rows=rows,
    )


def _write(
    job: ImportJob,
    new: list[tuple[Record, str]],
    new_events: list[tuple[Record, str]],
    kinds: Sequence[str],
    terms: list[str],
    at: Callable[[Any], Any],
) -> tuple[list[int], list[Row], int]:
    gid = job.group_id
    with transaction.atomic():
        Group.objects.select_for_update().filter(pk=gid).first()  # one import at a time
        names = {r.sender for r, _k in new} | {r.sender for r, _k in new_events if r.sender}
        people, people_new = _people(gid, names, job.pseudonyms)
        before = Message.objects.aggregate(m=Max("pk"))["m"] or 0
        _insert(
            Message._meta.db_table,
            [
                "group_id",
                "sender_id",
                "client_id",
                "text",
                "kind",
                "status",
                "created_at",
                "deleted_by",
                "change_seq",
            ],
            [
                (
                    gid,
                    people[r.sender].sender_id,
                    f"imp:{gid}:{k}",
                    r.text,
                    kind,
                    Message.Status.HISTORY,
                    at(r.at),
                    "",
                    0,
                )
                for (r, k), kind in zip(new, kinds, strict=True)
            ],
        )
        ids = _message_ids(gid, before, len(new))
        rows = [
            Row(pk, people[r.sender].sender_id, kind, r.text, r.at)
            for pk, (r, _k), kind in zip(ids, new, kinds, strict=True)
        ]
        _insert(
            ImportedMessage._meta.db_table,
            [
                "message_id",
                "group_id",
                "job_id",
                "person_id",
                "key",
                "ref",
                "line",
                "media",
                "forwarded_from",
            ],
            [
                (
                    pk,
                    gid,
                    job.pk,
                    people[r.sender].pk,
                    k,
                    r.ref[:64],
                    r.line,
                    json.dumps(r.media, ensure_ascii=False),
                    r.forwarded_from[:200],
                )
                for pk, (r, k) in zip(ids, new, strict=True)
            ],
        )
        _link_replies(gid, rows, [r for r, _k in new])
        HistoryEvent.objects.bulk_create(
            (
                HistoryEvent(
                    group_id=gid,
                    job=job,
                    person=people.get(r.sender) if r.sender else None,
                    kind=r.system or HistoryEvent.Kind.OTHER,
                    at=r.at,
                    text=r.text,
                    key=k,
                )
                for r, k in new_events
            ),
            batch_size=BATCH,
        )
        counts = Counter(r.sender for r, _k in new)
        for name, n in counts.items():
            people[name].messages += n
        ImportedPerson.objects.bulk_update(
            [people[n] for n in counts], ["messages"], batch_size=BATCH
        )
        _insert(
            MessageTerms._meta.db_table,
            ["message_id", "terms"],
            [(pk, t) for pk, t in zip(ids, terms, strict=True) if t],
        )
    return ids, rows, people_new


def _link_replies(group_id: int, rows: list[Row], records: list[Record]) -> None:
    """Replies point at the export's ids: this import's messages, or an earlier import's."""
    by_ref = {r.ref: m.pk for m, r in zip(rows, records, strict=True) if r.ref}
    wanted = {r.reply_to_ref for r in records if r.reply_to_ref and r.reply_to_ref not in by_ref}
    if wanted:
        by_ref.update(
            ImportedMessage.objects.filter(group_id=group_id, ref__in=wanted).values_list(
                "ref", "message_id"
            )
        )
    linked = []
    for m, r in zip(rows, records, strict=True):
        target = by_ref.get(r.reply_to_ref) if r.reply_to_ref else None
        if target is not None and target != m.pk:
            m.reply_to_id = target
            linked.append(m)
    for m in linked:  # replies are few (WhatsApp has none)
        Message.objects.filter(pk=m.pk).update(reply_to_id=m.reply_to_id)
