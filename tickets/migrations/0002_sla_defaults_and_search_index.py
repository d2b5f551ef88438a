"""Default SLA targets per priority, and the PostgreSQL full-text index for `q`."""

from django.db import migrations

DEFAULT_SLAS = {  # priority: (first response minutes, resolution minutes)
    4: (15, 4 * 60),
    3: (60, 8 * 60),
    2: (4 * 60, 24 * 60),
    1: (8 * 60, 72 * 60),
}

# Must match the expression tickets.filters.ticket_search builds, or the planner ignores it.
SEARCH_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS ticket_search_idx ON tickets_ticket USING gin "
    "(to_tsvector('english'::regconfig, COALESCE(subject, '') || ' ' || COALESCE(description, '')))"
)


def seed_slas(apps, schema_editor):
    SlaPolicy = apps.get_model("tickets", "SlaPolicy")
    for priority, (respond, resolve) in DEFAULT_SLAS.items():
        SlaPolicy.objects.get_or_create(
            priority=priority,
            defaults={"first_response_minutes": respond, "resolution_minutes": resolve},
        )


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEARCH_INDEX_SQL)


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_search_idx")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.RunPython(seed_slas, migrations.RunPython.noop),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
