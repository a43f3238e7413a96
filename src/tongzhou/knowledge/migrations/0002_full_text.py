"""The database's own full-text index over the search terms, and the terms of every message
already sent. FTS5 on SQLite (kept in step by triggers), a generated tsvector with a GIN
index on PostgreSQL. The statements are spelled out, not formatted, so nothing but these
constants ever reaches the database."""

from django.db import migrations

SQL = {
    "sqlite": [
        "CREATE VIRTUAL TABLE knowledge_messageterms_fts USING fts5(terms, content='knowledge_messageterms', content_rowid='message_id', tokenize='unicode61 remove_diacritics 0')",
        "CREATE TRIGGER knowledge_messageterms_ai AFTER INSERT ON knowledge_messageterms BEGIN INSERT INTO knowledge_messageterms_fts(rowid, terms) VALUES (new.message_id, new.terms); END",
        "CREATE TRIGGER knowledge_messageterms_ad AFTER DELETE ON knowledge_messageterms BEGIN INSERT INTO knowledge_messageterms_fts(knowledge_messageterms_fts, rowid, terms) VALUES ('delete', old.message_id, old.terms); END",
        "CREATE TRIGGER knowledge_messageterms_au AFTER UPDATE ON knowledge_messageterms BEGIN INSERT INTO knowledge_messageterms_fts(knowledge_messageterms_fts, rowid, terms) VALUES ('delete', old.message_id, old.terms); INSERT INTO knowledge_messageterms_fts(rowid, terms) VALUES (new.message_id, new.terms); END",
        "CREATE VIRTUAL TABLE knowledge_entryterms_fts USING fts5(terms, title, content='knowledge_entryterms', content_rowid='entry_id', tokenize='unicode61 remove_diacritics 0')",
        "CREATE TRIGGER knowledge_entryterms_ai AFTER INSERT ON knowledge_entryterms BEGIN INSERT INTO knowledge_entryterms_fts(rowid, terms, title) VALUES (new.entry_id, new.terms, new.title); END",
        "CREATE TRIGGER knowledge_entryterms_ad AFTER DELETE ON knowledge_entryterms BEGIN INSERT INTO knowledge_entryterms_fts(knowledge_entryterms_fts, rowid, terms, title) VALUES ('delete', old.entry_id, old.terms, old.title); END",
        "CREATE TRIGGER knowledge_entryterms_au AFTER UPDATE ON knowledge_entryterms BEGIN INSERT INTO knowledge_entryterms_fts(knowledge_entryterms_fts, rowid, terms, title) VALUES ('delete', old.entry_id, old.terms, old.title); INSERT INTO knowledge_entryterms_fts(rowid, terms, title) VALUES (new.entry_id, new.terms, new.title); END",
    ],
    "postgresql": [
        "ALTER TABLE knowledge_messageterms ADD COLUMN vector tsvector GENERATED ALWAYS AS (array_to_tsvector(string_to_array(terms, ' '))) STORED",
        "CREATE INDEX knowledge_messageterms_vector ON knowledge_messageterms USING gin (vector)",
        "ALTER TABLE knowledge_entryterms ADD COLUMN vector tsvector GENERATED ALWAYS AS (array_to_tsvector(string_to_array(terms, ' '))) STORED",
        "CREATE INDEX knowledge_entryterms_vector ON knowledge_entryterms USING gin (vector)",
        "ALTER TABLE knowledge_entryterms ADD COLUMN title_vector tsvector GENERATED ALWAYS AS (array_to_tsvector(string_to_array(title, ' '))) STORED",
        "CREATE INDEX knowledge_entryterms_title_vector ON knowledge_entryterms USING gin (title_vector)",
    ],
}
SQLITE_DROP = [
    "DROP TABLE IF EXISTS knowledge_messageterms_fts",
    "DROP TRIGGER IF EXISTS knowledge_messageterms_ai",
    "DROP TRIGGER IF EXISTS knowledge_messageterms_ad",
    "DROP TRIGGER IF EXISTS knowledge_messageterms_au",
    "DROP TABLE IF EXISTS knowledge_entryterms_fts",
    "DROP TRIGGER IF EXISTS knowledge_entryterms_ai",
    "DROP TRIGGER IF EXISTS knowledge_entryterms_ad",
    "DROP TRIGGER IF EXISTS knowledge_entryterms_au",
]


def create(apps, schema_editor):
    for sql in SQL[schema_editor.connection.vendor]:
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
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial"), ("chat", "0005_pins_mentions_link_previews")]

    operations = [migrations.RunPython(create, drop)]
