"""Ticket full-text search (tickets.search): a text search configuration with English
stemming over unaccented words, a search_vector per ticket (subject, description,
messages) filled for existing tickets, and its GIN index. The configuration, the filling and
the index are PostgreSQL only; elsewhere search falls back to substring matching.

On a large table, filling the column rewrites every ticket row and building the index
blocks writes to tickets meanwhile: minutes at 1,000,000 tickets (not measured alone; the
bench seed's equivalent UPDATE, with the index already there, took ~10 minutes on a loaded
2-core VM). Plan a maintenance window for it.
"""

import importlib

import django.contrib.postgres.search
from django.contrib.postgres.indexes import GinIndex
from django.db import migrations

# Not a model index: GIN is PostgreSQL's, and the index is made where the column is filled.
INDEX = GinIndex(fields=["search_vector"], name="ticket_search_vector_idx")
SEARCH_CONFIG = "supporthub_search"  # tickets.search.SEARCH_CONFIG
# The index 0002 made for the API's old search (English, accents kept; no messages).
OLD = importlib.import_module("tickets.migrations.0002_sla_defaults_and_search_index")


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from tickets.search import search_vector_expression

    OLD.drop_search_index(apps, schema_editor)
    # Not UnaccentExtension(): its reverse queries pg_extension on SQLite too. Kept on the
    # way back (something else may use it).
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema_editor.execute(f"CREATE TEXT SEARCH CONFIGURATION {SEARCH_CONFIG} (COPY = english)")
    schema_editor.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {SEARCH_CONFIG} "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem"
    )
    Ticket = apps.get_model("tickets", "Ticket")
    Ticket.objects.using(schema_editor.connection.alias).update(search_vector=search_vector_expression())
    schema_editor.add_index(Ticket, INDEX)


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_index(apps.get_model("tickets", "Ticket"), INDEX)
    schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION {SEARCH_CONFIG}")
    OLD.create_search_index(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0016_macros")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(create_search, drop_search),
    ]
