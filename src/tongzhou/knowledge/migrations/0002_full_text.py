"""The database's own full-text index over the search terms, and the terms of every message
already sent. FTS5 on SQLite (kept in step by triggers), a generated tsvector with a GIN
index on PostgreSQL."""

from django.db import migrations

TABLES = [("knowledge_messageterms", "message_id"), ("knowledge_entryterms", "entry_id")]


def _sqlite(table: str, key: str) -> list[str]:
    # Table and column names are the constants above, never input.
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(terms, content='{table}', "
        f"content_rowid='{key}', tokenize='unicode61 remove_diacritics 0')",
        f"CREATE TRIGGER {table}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, terms) VALUES (new.{key}, new.terms); END",
        f"CREATE TRIGGER {table}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, terms) VALUES ('delete', old.{key}, old.terms); END",
        f"CREATE TRIGGER {table}_au AFTER UPDATE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, terms) VALUES ('delete', old.{key}, old.terms); "
        f"INSERT INTO {fts}(rowid, terms) VALUES (new.{key}, new.terms); END",
    ]


def _postgresql(table: str, key: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ADD COLUMN vector tsvector GENERATED ALWAYS AS "
        f"(array_to_tsvector(string_to_array(terms, ' '))) STORED",
        f"CREATE INDEX {table}_vector ON {table} USING gin (vector)",
    ]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    build = {"sqlite": _sqlite, "postgresql": _postgresql}[vendor]
    for table, key in TABLES:
        for sql in build(table, key):
            schema_editor.execute(sql)
    from tongzhou.knowledge.terms import index_terms

    Message = apps.get_model("chat", "Message")
    MessageTerms = apps.get_model("knowledge", "MessageTerms")
    rows = []
    for m in Message.objects.filter(deleted_at__isnull=True).only("pk", "text").iterator():
        terms = " ".join(index_terms(m.text))
        if terms:
            rows.append(MessageTerms(message_id=m.pk, terms=terms))
    MessageTerms.objects.bulk_create(rows, batch_size=2000)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for table, _key in TABLES:
            schema_editor.execute(f"DROP TABLE IF EXISTS {table}_fts")
            for suffix in ("ai", "ad", "au"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial"), ("chat", "0005_pins_mentions_link_previews")]

    operations = [migrations.RunPython(create, drop)]
