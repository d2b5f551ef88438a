"""DropPatternIndex drops the `_like` index and puts it back on the way down."""

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.state import ProjectState

from supporthub.migration_operations import DropPatternIndex
from tests.services import require_postgres

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require_postgres()


def _pattern_indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [table, "%pattern_ops%"],
        )
        return [row[0] for row in cursor.fetchall()]


def test_backwards_recreates_the_index_forwards_drops_it_again():
    operation = DropPatternIndex(model_name="calllog", name="call_sid")
    state = ProjectState.from_apps(apps)
    assert _pattern_indexes("telephony_calllog") == []  # migrated: dropped

    with connection.schema_editor() as editor:
        operation.database_backwards("telephony", editor, state, state)
    [name] = _pattern_indexes("telephony_calllog")
    assert name.startswith("telephony_calllog_call_sid_") and name.endswith("_like")

    with connection.schema_editor() as editor:
        operation.database_forwards("telephony", editor, state, state)
    assert _pattern_indexes("telephony_calllog") == []


def test_it_describes_itself_and_deconstructs_for_the_autodetector():
    operation = DropPatternIndex(model_name="calllog", name="call_sid")
    assert operation.describe() == "Drop the LIKE pattern index of calllog.call_sid"
    assert operation.deconstruct() == ("DropPatternIndex", [], {"model_name": "calllog", "name": "call_sid"})
