"""The anonymised export: a zip of the project's coded, consented, pseudonymised messages, the
members table (generalised to k ≥ 5), the codebook and an agreement report, as CSV or JSONL.

Consent is read again here, inside the export, not trusted from any page: a member who
revoked a minute ago is not in it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction

from tongzhou.accounts.models import Profile, User
from tongzhou.insight import codebook, coded, consent, kanon, queries, stats
from tongzhou.insight.models import Code, Export, Project

FORMATS = ("csv", "jsonl")
ATTRIBUTES = ("role", "cancer_type", "stage", "phase", "region", "diagnosis_year")
K = 5


def _csv(header: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def members_table(project: Project, labels: dict[int, str]) -> dict[str, Any]:
    """Per pseudonym: whether they allow quotes and share health details; the health
    details of those who do, generalised until each combination covers ≥ K members."""
    now = consent.consents(project.group_id)
    people = [uid for uid in labels if uid in now]
    profiles = {p.user_id: p for p in Profile.objects.filter(user_id__in=people)}
    sharing = [uid for uid in people if now[uid].health and uid in profiles]
    table = [
        {
            "pseudonym": labels[uid],
            **{a: getattr(profiles[uid], a) or "" for a in ATTRIBUTES},
        }
        for uid in sharing
    ]
    generalised = kanon.generalise(table, k=K)
    shared = {r["pseudonym"]: r for r in generalised.rows}
    return {
        "members": [
            {
                "pseudonym": labels[uid],
                "quote_allowed": now[uid].quotes,
                "health_shared": labels[uid] in shared,
                "consent_version": now[uid].version,
            }
            for uid in sorted(people, key=lambda u: labels[u])
        ],
        "attributes": [shared[labels[uid]] for uid in sharing if labels[uid] in shared],
        "k": K,
        "levels": generalised.levels,
        "suppressed": generalised.suppressed,
        "released": generalised.released,
    }


def build(project: Project, user: User, fmt: str) -> tuple[bytes, Export]:
    """The zip and the record of it; raises nothing on an empty project (an empty export)."""
    with transaction.atomic():
        units = list(queries.studied_units(project))
        rows = queries.rows(project, units)
        ids = [r.unit for r in rows]
        ratings = coded.ratings(project, ids)
        agreed = coded.agreed(project, ids)
        codes = list(Code.objects.filter(project=project))
        keys = [c.key for c in codes]
        coders = coded.coder_labels(ratings)
        labels = queries.pseudonyms(
            project,
            [u.message.sender_id for u in units if u.message.sender_id],
        )
        members = members_table(project, labels)
        quotes = {m["pseudonym"]: m["quote_allowed"] for m in members["members"]}
        by_message = {r.message: r.position for r in rows}
        messages = [
            {
                "unit": r.position,
                "author": r.author,
                "time": r.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ"),
                "kind": r.kind,
                "imported": r.history,
                "reply_to_unit": by_message.get(r.reply_to or 0),
                "quote_allowed": quotes.get(r.author, False),
                "text": r.text,
                "agreed": sorted(agreed[r.unit]) if r.unit in agreed else None,
                "codes": {
                    coders[c]: sorted(units_[r.unit])
                    for c, units_ in ratings.items()
                    if r.unit in units_
                },
            }
            for r in rows
        ]
        report = stats.agreement(ratings, keys)
        codebook_rows = [
            {
                "key": c.key,
                "family": codebook.family_of(c.key),
                "label": codebook.label(c.key, c.label),
                "description": codebook.meaning(c.key, c.description),
            }
            for c in codes
        ]
        record = Export.objects.create(
            project=project,
            by=user,
            format=fmt,
            messages=len(messages),
            members=len(members["members"]),
        )
    about = {
        "project": project.title,
        "purpose": project.purpose,
        "ends_on": project.ends_on.isoformat(),
        "exported_at": record.at.astimezone(dt.UTC).isoformat(),
        "messages": len(messages),
        "members": len(members["members"]),
        "coders": len(coders),
        "k": K,
        "notes": [
            "Only members who consent to research use at the moment of export are included.",
            "Authors are project pseudonyms (P001...); coders are C1, C2...",
            "Names, phone numbers, ID numbers, e-mail, addresses and hospitals in the text "
            "are replaced by tags such as [name] and [hospital].",
            "Quote a message in a publication only where quote_allowed is true.",
            "The attributes table is generalised until every combination covers at least "
            "k members; '*' means withheld.",
        ],
    }
    return _zip(fmt, about, messages, members, codebook_rows, report, keys, coders), record


def _zip(
    fmt: str,
    about: dict[str, Any],
    messages: list[dict[str, Any]],
    members: dict[str, Any],
    codebook_rows: list[dict[str, Any]],
    report: Any,
    keys: list[str],
    coders: dict[int, str],
) -> bytes:
    buf = io.BytesIO()
    report_dict = stats.as_dict(report, coders)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.json", json.dumps(about, ensure_ascii=False, indent=2))
        z.writestr("agreement.json", json.dumps(report_dict, ensure_ascii=False, indent=2))
        if fmt == "csv":
            flat = [
                {
                    **{k: v for k, v in m.items() if k not in ("codes", "agreed")},
                    "agreed": ";".join(m["agreed"]) if m["agreed"] is not None else "",
                    **{f"codes_{c}": ";".join(v) for c, v in m["codes"].items()},
                }
                for m in messages
            ]
            header = [
                "unit", "author", "time", "kind", "imported", "reply_to_unit",
                "quote_allowed", "text", "agreed",
                *[f"codes_{c}" for c in coders.values()],
            ]  # fmt: skip
            z.writestr("messages.csv", _csv(header, flat))
            z.writestr(
                "members.csv",
                _csv(
                    ["pseudonym", "quote_allowed", "health_shared", "consent_version"],
                    members["members"],
                ),
            )
            z.writestr("attributes.csv", _csv(["pseudonym", *ATTRIBUTES], members["attributes"]))
            z.writestr(
                "codebook.csv", _csv(["key", "family", "label", "description"], codebook_rows)
            )
        else:
            z.writestr("messages.jsonl", _jsonl(messages))
            z.writestr("members.jsonl", _jsonl(members["members"]))
            z.writestr("attributes.jsonl", _jsonl(members["attributes"]))
            z.writestr("codebook.jsonl", _jsonl(codebook_rows))
    return buf.getvalue()
