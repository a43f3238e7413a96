"""Keeping the search terms current, and asking the database for candidates.

The full-text index itself belongs to the database (migration 0002): an FTS5 table kept in
step by triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL. Both
answer the same question, "rows holding every term (some as prefixes)", so they return the
same candidates; knowledge/search.py checks each one exactly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction

from tongzhou.chat.models import Message
from tongzhou.knowledge.models import Entry, EntryTerms, MessageTerms
from tongzhou.knowledge.terms import index_terms

OPTIMIZE = [
    "INSERT INTO knowledge_messageterms_fts(knowledge_messageterms_fts) VALUES ('optimize')",
    "INSERT INTO knowledge_entryterms_fts(knowledge_entryterms_fts) VALUES ('optimize')",
]
TABLES = {
    "message": ("knowledge_messageterms", "message_id"),
    "entry": ("knowledge_entryterms", "entry_id"),
}


def index_message(message: Message) -> None:
    terms = " ".join(index_terms(message.text)) if message.deleted_at is None else ""
    if terms:
        MessageTerms.objects.update_or_create(message_id=message.pk, defaults={"terms": terms})
    else:
        MessageTerms.objects.filter(message_id=message.pk).delete()


def unindex_message(message_id: int) -> None:
    MessageTerms.objects.filter(message_id=message_id).delete()


def entry_text(entry: Entry) -> str:
    return "\n".join([entry.title, entry.body, " ".join(entry.tags)])


def entry_terms(entry: Entry) -> EntryTerms:
    """The index row of an entry: all its terms, and its title's alone."""
    return EntryTerms(
        entry_id=entry.pk,
        terms=" ".join(index_terms(entry_text(entry))),
        title=" ".join(index_terms(entry.title)),
    )


def index_entry(entry: Entry) -> None:
    row = entry_terms(entry)
    EntryTerms.objects.update_or_create(
        entry_id=entry.pk, defaults={"terms": row.terms, "title": row.title}
    )


def index_messages(messages: Iterable[Message], batch: int = 2000) -> int:
    """Bulk (re)indexing, for imports, migrations and benchmarks."""
    rows: list[MessageTerms] = []
    count = 0
    for m in messages:
        terms = " ".join(index_terms(m.text))
        if terms and m.deleted_at is None:
            rows.append(MessageTerms(message_id=m.pk, terms=terms))
        if len(rows) >= batch:
            count += _flush(rows)
    return count + _flush(rows)


def _flush(rows: list[MessageTerms]) -> int:
    ids = [r.message_id for r in rows]
    with transaction.atomic():
        MessageTerms.objects.filter(message_id__in=ids).delete()
        MessageTerms.objects.bulk_create(rows)
    n = len(rows)
    rows.clear()
    return n


def purge_deleted_terms() -> None:
    """FTS5 keeps a deleted row's words in its segments until they are merged; after an
    erasure they must go at once. 'optimize' merges everything (seconds at a million rows,
    and erasures are rare). PostgreSQL's dead tuples go at the next autovacuum."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cur:
        for sql in OPTIMIZE:
            cur.execute(sql)


def match_clause(
    kind: str, terms: Sequence[tuple[str, bool]], *, title: bool = False
) -> tuple[str, str, str, list[Any]]:
    """(FROM fragment aliased `t`, WHERE fragment, the id column, params) for rows of `kind`
    that hold every term. Terms are letters and digits only (knowledge/terms.py); quotes are
    escaped all the same, and the query string is a parameter, never SQL."""
    table, key = TABLES[kind]
    if connection.vendor == "postgresql":
        lexemes = ("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t, _p in terms)
        query = " & ".join(
            lex + (":*" if prefix else "") for lex, (_t, prefix) in zip(lexemes, terms, strict=True)
        )
        vector = "t.title_vector" if title else "t.vector"
        return f"{table} AS t", f"{vector} @@ %s::tsquery", f"t.{key}", [query]
    query = " AND ".join('"' + t.replace('"', '""') + '"' + ("*" if p else "") for t, p in terms)
    if title:
        query = f"title : ({query})"  # FTS5's column filter
    # Joined directly (not as a subquery) so FTS5 can walk its rowids newest first and stop.
    return f"{table}_fts AS t", f"t.{table}_fts MATCH %s", "t.rowid", [query]
