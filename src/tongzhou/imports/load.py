"""Records into the group: placeholders for the people, messages with status "history",
system lines apart, reply links, search terms; all in one transaction, and nothing twice.

Each record gets a key (its export id with its time and sender, else a hash of time, sender,
text and attachments, counted when the same line occurs more than once): a second import of
the same file, or of a later export that overlaps, finds every earlier line's key and adds
only the new ones. Keys use UTC, so import one chat's exports with the same timezone.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from tongzhou.accounts.models import Profile, User
from tongzhou.chat.models import Message
from tongzhou.imports.models import HistoryEvent, ImportedMessage, ImportedPerson, ImportJob
from tongzhou.imports.records import Record
from tongzhou.knowledge.index import index_messages
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


def load(
    job: ImportJob, records: list[Record], progress: Callable[[float], None] = lambda f: None
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
    progress(0.2)
    with transaction.atomic():
        names = {r.sender for r, _k in new} | {r.sender for r, _k in new_events if r.sender}
        people, people_new = _people(gid, names, job.pseudonyms)
        rows = [
            Message(
                group_id=gid,
                sender_id=people[r.sender].sender_id,
                client_id=f"imp:{gid}:{k}",
                text=r.text,
                kind=kind,
                status=Message.Status.HISTORY,
                created_at=r.at,
            )
            for (r, k), kind in zip(new, kinds, strict=True)
        ]
        for i in range(0, len(rows), BATCH):
            Message.objects.bulk_create(rows[i : i + BATCH])
        ImportedMessage.objects.bulk_create(
            (
                ImportedMessage(
                    message_id=m.pk,
                    group_id=gid,
                    job=job,
                    person=people[r.sender],
                    key=k,
                    ref=r.ref[:64],
                    line=r.line,
                    media=r.media,
                    forwarded_from=r.forwarded_from[:200],
                )
                for m, (r, k) in zip(rows, new, strict=True)
            ),
            batch_size=BATCH,
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
        index_messages(rows)
    return Loaded(
        added=len(rows),
        skipped=len(messages) - len(new) + len(events) - len(new_events),
        events=len(new_events),
        people_new=people_new,
        message_ids=[m.pk for m in rows],
    )


def _link_replies(group_id: int, rows: list[Message], records: list[Record]) -> None:
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
    Message.objects.bulk_update(linked, ["reply_to"], batch_size=BATCH)
