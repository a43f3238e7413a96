"""Importing a history, step by step: upload, read (check the names), import; and members
claiming the messages that were theirs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tongzhou import storage
from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.queries import (
    access_group,
    access_leadership,
    access_moderation,
    membership_of,
)
from tongzhou.imports import formats, mining
from tongzhou.imports.load import load, pseudonym
from tongzhou.imports.models import (
    Candidate,
    ImportedMessage,
    ImportedPerson,
    ImportJob,
    TermCandidate,
)
from tongzhou.imports.records import FormatError, Parsed
from tongzhou.knowledge.models import Source
from tongzhou.safety.audit import audit
from tongzhou.safety.models import AuditEntry
from tongzhou.text import field_text

log = logging.getLogger(__name__)

PROBLEMS_SHOWN = 200
PEOPLE_SHOWN = 1000


def job_not_found() -> UserError:
    return UserError("not_found", _("There is no such import here."), 404)


def job_in(user: User, group_id: int, job_id: object) -> ImportJob:
    access_leadership(user, group_id)
    job = ImportJob.objects.filter(pk=parse_id(job_id, "not_found"), group_id=group_id).first()
    if job is None:
        raise job_not_found()
    return job


def check_zone(name: object) -> str:
    value = name if isinstance(name, str) and name else settings.TIME_ZONE
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise UserError("bad_timezone", _("Please choose a timezone from the list.")) from e
    return value


def check_date_order(value: object) -> str:
    if value in (None, "", "auto"):
        return ""
    if value not in ("dmy", "mdy", "ymd"):
        raise UserError("bad_date_order", _("Please choose the order of the dates from the list."))
    return str(value)


def check_format(fmt: object) -> str:
    if fmt in (None, ""):
        return "auto"
    if fmt not in formats.CHOICES:
        raise UserError(
            "bad_format", _("Please choose the app the export comes from, or “Recognise it”.")
        )
    return str(fmt)


def do_upload(
    user: User,
    group_id: int,
    filename: str,
    data: bytes,
    *,
    fmt: object = "auto",
    zone: object = "",
    chat: object = "",
    date_order: object = "",
) -> ImportJob:
    """The leader hands in an export; it is read in the background (read_job)."""
    access_leadership(user, group_id)
    fmt, zone = check_format(fmt), check_zone(zone)
    if not data:
        raise UserError("empty_file", _("The file is empty."))
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise UserError(
            "file_too_large",
            _("The file is larger than %(max)d MB.") % {"max": settings.IMPORT_MAX_BYTES // 2**20},
        )
    name = (filename or "export").replace("/", "_").replace("\\", "_")[-200:]
    with transaction.atomic():
        job = ImportJob.objects.create(
            group_id=group_id,
            created_by=user,
            filename=name,
            file=storage.save(data),  # encrypted at rest; deleted when imported or discarded
            size=len(data),
            requested_format=fmt,
            zone=zone,
            options={
                "chat": field_text(chat, "chat", _("Which chat"), 200, required=False),
                "date_order": check_date_order(date_order),
            },
        )
        from tongzhou.imports.tasks import read_job

        transaction.on_commit(lambda: read_job.enqueue(job.pk))
    return job


def describe_error(filename: str, e: FormatError) -> str:
    """The error as the leader reads it: the file, the line, what was wrong (translated when
    the parser's words are in the catalogue)."""
    if e.line:
        return _("%(file)s, line %(line)d: %(problem)s") % {
            "file": filename,
            "line": e.line,
            "problem": _(e.message),  # the parsers' fixed sentences
        }
    return _("%(file)s: %(problem)s") % {"file": filename, "problem": _(e.message)}


def _read(job: ImportJob) -> Parsed:
    options = {k: v for k, v in job.options.items() if v}
    return formats.read(
        storage.read(job.file), zone=ZoneInfo(job.zone), fmt=job.requested_format, **options
    )


def summarise(parsed: Parsed, known: set[str]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in parsed.records:
        if r.system is None:
            counts[r.sender] = counts.get(r.sender, 0) + 1
    messages = [r for r in parsed.records if r.system is None]
    people = sorted(counts.items(), key=lambda kv: -kv[1])
    return {
        "messages": len(messages),
        "system": len(parsed.records) - len(messages),
        "media": sum(len(r.media) for r in messages),
        "first": min((r.at for r in parsed.records), default=None),
        "last": max((r.at for r in parsed.records), default=None),
        "people": [
            {"name": n, "messages": c, "known": n in known} for n, c in people[:PEOPLE_SHOWN]
        ],
        "people_total": len(people),
        "problems": [
            {"line": p.line, "message": p.message, "excerpt": p.excerpt}
            for p in parsed.problems[:PROBLEMS_SHOWN]
        ],
        "problems_total": len(parsed.problems),
    }


def _json_times(summary: dict[str, Any]) -> dict[str, Any]:
    for k in ("first", "last"):
        if summary[k] is not None:
            summary[k] = summary[k].isoformat()
    return summary


def read_job(job: ImportJob) -> Parsed | None:
    """Parse the upload and keep what the leader checks before importing."""
    job.status = ImportJob.Status.READING
    job.save(update_fields=["status"])
    try:
        parsed = _read(job)
    except FormatError as e:
        _fail(job, describe_error(job.filename, e))
        return None
    known = set(ImportedPerson.objects.filter(group_id=job.group_id).values_list("name", flat=True))
    job.format, job.variant = parsed.format, parsed.variant[:40]
    job.summary = _json_times(summarise(parsed, known))
    if not job.summary["messages"]:
        _fail(job, describe_error(job.filename, FormatError(gettext_noop("No messages found."))))
        return None
    job.status = ImportJob.Status.READY
    job.save(update_fields=["format", "variant", "summary", "status"])
    return parsed


def _fail(job: ImportJob, error: str) -> None:
    job.status, job.error, job.finished_at = ImportJob.Status.FAILED, error, timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    if job.file:
        storage.delete(job.file)
        job.file = ""
        job.save(update_fields=["file"])


def check_pseudonyms(job: ImportJob, values: Mapping[str, object]) -> dict[str, str]:
    names = {p["name"] for p in job.summary.get("people", [])}
    chosen = {}
    for name, value in values.items():
        if name not in names:
            continue
        text = field_text(value, "pseudonym", _("Name shown"), 40, required=False)
        if text and text != name:
            chosen[name] = text
    return chosen


def do_start_import(
    user: User, group_id: int, job_id: object, names: Mapping[str, object]
) -> ImportJob:
    """The leader has checked the names: import in the background (run_job)."""
    job = job_in(user, group_id, job_id)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportJob.Status.READY:
            raise UserError("not_ready", _("This import cannot be started now."), 409)
        job.pseudonyms = check_pseudonyms(job, names)
        job.status, job.progress = ImportJob.Status.IMPORTING, 0.0
        job.save(update_fields=["pseudonyms", "status", "progress"])
        from tongzhou.imports.tasks import run_job

        transaction.on_commit(lambda: run_job.enqueue(job.pk))
    return job


def do_discard(user: User, group_id: int, job_id: object) -> ImportJob:
    job = job_in(user, group_id, job_id)
    if job.status in (ImportJob.Status.IMPORTING, ImportJob.Status.READING):
        raise UserError("busy", _("Please wait until this step has finished."), 409)
    if job.status == ImportJob.Status.DONE:
        raise UserError("already_imported", _("This file is imported already."), 409)
    do_discard_quiet(job)
    return job


def do_discard_quiet(job: ImportJob) -> None:
    if job.file:
        storage.delete(job.file)
    job.file, job.status = "", ImportJob.Status.DISCARDED
    job.save(update_fields=["file", "status"])


def import_now(
    job: ImportJob, progress: Any = None, parsed: Parsed | None = None
) -> dict[str, Any]:
    """Read and import the job's file (the worker; the command line, which passes what it
    read already). Returns the result; on any failure nothing of it is in the database and
    the job says why."""
    report = progress or (lambda f: None)

    def step(f: float) -> None:
        job.progress = round(f, 3)
        job.save(update_fields=["progress"])
        report(f)

    names = set(ImportedPerson.objects.filter(group_id=job.group_id).values_list("name", flat=True))
    try:
        parsed = parsed or _read(job)
        step(0.1)
        names |= {r.sender for r in parsed.records if r.sender}
        known = mining.known_words(job.group_id, names)
        loaded = load(job, parsed.records, lambda f: step(0.1 + 0.2 * f))
    except FormatError as e:
        _fail(job, describe_error(job.filename, e))
        raise
    except Exception:
        log.exception("import %s failed", job.pk)
        _fail(job, _("The import stopped because of an error; nothing of it was saved."))
        raise
    step(0.8)
    candidates = terms = 0
    try:  # the history is in; suggestions can be missed without loss
        ordered = sorted(loaded.rows, key=lambda m: (m.created_at, m.pk))  # no reading back
        candidates = mining.save_candidates(job, mining.qa_pairs(ordered))
        words, every = mining.sample_words(ordered, known)
        terms = mining.save_terms(job, words, every)
    except Exception:
        log.exception("import %s: finding suggestions failed", job.pk)
    job.result = {
        "added": loaded.added,
        "skipped": loaded.skipped,
        "events": loaded.events,
        "people_new": loaded.people_new,
        "problems": len(parsed.problems),
        "candidates": candidates,
        "terms": terms,
    }
    job.status, job.progress, job.finished_at = ImportJob.Status.DONE, 1.0, timezone.now()
    if job.file:
        storage.delete(job.file)
    job.file = ""
    job.save(update_fields=["result", "status", "progress", "finished_at", "file"])
    audit(job.group_id, job.created_by, AuditEntry.Action.IMPORT, reason=job.filename)
    report(1.0)
    return job.result


# --- people -----------------------------------------------------------------------------


def person_in(group_id: int, person_id: object) -> ImportedPerson:
    p = (
        ImportedPerson.objects.filter(pk=parse_id(person_id, "not_found"), group_id=group_id)
        .select_related("user", "claimed_by", "claim_requested_by")
        .first()
    )
    if p is None:
        raise UserError("not_found", _("There is no such person in the imported history."), 404)
    return p


def do_rename(user: User, group_id: int, person_id: object, name: object) -> ImportedPerson:
    access_leadership(user, group_id)
    person = person_in(group_id, person_id)
    shown = field_text(name, "pseudonym", _("Name shown"), 40)
    person.user.display_name = pseudonym(shown, {})
    person.user.save(update_fields=["display_name"])
    return person


def do_request_claim(user: User, group_id: int, person_id: object) -> ImportedPerson:
    """A member says "these were my messages"; the leader confirms (do_decide_claim)."""
    access_group(user, group_id)
    with transaction.atomic():
        person = person_in(group_id, person_id)
        person = ImportedPerson.objects.select_for_update().get(pk=person.pk)
        if person.claimed_by_id is not None:
            raise UserError("already_claimed", _("These messages already belong to a member."), 409)
        if person.claim_requested_by_id not in (None, user.pk):
            raise UserError(
                "claim_pending",
                _("Someone else has asked for these messages; the leader will decide."),
                409,
            )
        person.claim_requested_by, person.claim_requested_at = user, timezone.now()
        person.save(update_fields=["claim_requested_by", "claim_requested_at"])
    return person


def do_withdraw_claim(user: User, group_id: int, person_id: object) -> ImportedPerson:
    access_group(user, group_id)
    person = person_in(group_id, person_id)
    if person.claim_requested_by_id == user.pk and person.claimed_by_id is None:
        person.claim_requested_by, person.claim_requested_at = None, None
        person.save(update_fields=["claim_requested_by", "claim_requested_at"])
    return person


def do_decide_claim(user: User, group_id: int, person_id: object, approve: bool) -> ImportedPerson:
    """The leader confirms a claim: the person's imported messages become the member's (their
    own name shows on them; they can edit or delete them, and erasing their account takes
    them too) — or turns it down."""
    access_leadership(user, group_id)
    with transaction.atomic():
        person = ImportedPerson.objects.select_for_update().get(
            pk=person_in(group_id, person_id).pk
        )
        claimer = person.claim_requested_by_id
        if claimer is None or person.claimed_by_id is not None:
            raise UserError("no_claim", _("Nobody is waiting for these messages."), 409)
        if approve:
            if membership_of(User(pk=claimer), group_id) is None:
                raise UserError("not_member", _("This person is no longer a member."), 409)
            ids = ImportedMessage.objects.filter(person=person).values_list("message_id", flat=True)
            Message.objects.filter(pk__in=ids).update(sender_id=claimer)
            Source.objects.filter(message_id__in=ids).update(author_id=claimer)
            person.claimed_by_id = claimer
            audit(group_id, user, AuditEntry.Action.CLAIM, member_id=claimer)
        person.claim_requested_by, person.claim_requested_at = None, None
        person.save(update_fields=["claimed_by", "claim_requested_by", "claim_requested_at"])
    return person


# --- what the history taught ------------------------------------------------------------


def do_dismiss_candidate(user: User, group_id: int, candidate_id: object) -> Candidate:
    access_moderation(user, group_id)
    c = Candidate.objects.filter(pk=parse_id(candidate_id, "not_found"), group_id=group_id).first()
    if c is None:
        raise UserError("not_found", _("There is no such suggestion here."), 404)
    c.status, c.decided_by = Candidate.Status.DISMISSED, user
    c.save(update_fields=["status", "decided_by"])
    return c


def used_candidate(user: User, group_id: int, candidate_id: object, entry: Any) -> None:
    """The entry form was opened from a suggestion and saved: the suggestion is done."""
    if not str(candidate_id or "").isdigit():
        return
    Candidate.objects.filter(
        pk=int(str(candidate_id)), group_id=group_id, status=Candidate.Status.OPEN
    ).update(status=Candidate.Status.USED, entry=entry, decided_by=user)


def _term_in(group_id: int, term_id: object) -> TermCandidate:
    t = TermCandidate.objects.filter(pk=parse_id(term_id, "not_found"), group_id=group_id).first()
    if t is None:
        raise UserError("not_found", _("There is no such suggestion here."), 404)
    return t


def do_dismiss_term(user: User, group_id: int, term_id: object) -> TermCandidate:
    access_moderation(user, group_id)
    t = _term_in(group_id, term_id)
    t.status = TermCandidate.Status.DISMISSED
    t.save(update_fields=["status"])
    return t


def do_use_term(
    user: User, group_id: int, term_id: object, meaning: object, also: object = ""
) -> TermCandidate:
    """Into the glossary, with the meaning the moderator wrote."""
    from tongzhou.knowledge.actions import do_add_term

    access_moderation(user, group_id)
    t = _term_in(group_id, term_id)
    with transaction.atomic():
        do_add_term(user, group_id, term=t.term, also=also, meaning=meaning)
        t.status = TermCandidate.Status.USED
        t.save(update_fields=["status"])
    return t
