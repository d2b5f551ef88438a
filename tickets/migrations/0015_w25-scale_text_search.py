"""Full-text search indexes (tickets.search): a text search configuration with English
stemming over unaccented words, and a GIN index over each searched text in it. PostgreSQL
only; elsewhere search falls back to substring matching and these are no-ops.

The expressions are frozen here and must equal tickets.search's (the planner uses an index
only for the same expression); tests/tickets/test_index_use.py checks that they do.
On a large existing table, building them blocks writes to it for the build's length (see
docs/benchmarks.md: about N s for 3,000,000 messages).
"""

import importlib

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

SEARCH_CONFIG = "supporthub_search"
INDEXES = [
    (
        "ticket",
        GinIndex(SearchVector("subject", "description", config=SEARCH_CONFIG), name="ticket_text_idx"),
    ),
    ("message", GinIndex(SearchVector("body", config=SEARCH_CONFIG), name="message_text_idx")),
    ("contact", GinIndex(SearchVector("name", config=SEARCH_CONFIG), name="contact_name_text_idx")),
]
# The index 0002 made for the API's old search (English, accents kept; no messages).
OLD = importlib.import_module("tickets.migrations.0002_sla_defaults_and_search_index")


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    OLD.drop_search_index(apps, schema_editor)
    # Not UnaccentExtension(): its reverse queries pg_extension on SQLite too. Kept on the
    # way back (something else may use it).
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema_editor.execute(f"CREATE TEXT SEARCH CONFIGURATION {SEARCH_CONFIG} (COPY = english)")
    schema_editor.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {SEARCH_CONFIG} "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem"
    )
    for model_name, index in INDEXES:
        schema_editor.add_index(apps.get_model("tickets", model_name), index)


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, index in INDEXES:
        schema_editor.remove_index(apps.get_model("tickets", model_name), index)
    schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION {SEARCH_CONFIG}")
    OLD.create_search_index(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0014_attachment_thumbnails")]

    operations = [migrations.RunPython(create_search, drop_search)]
