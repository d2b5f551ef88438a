"""Migration operations Django does not ship."""

from __future__ import annotations

from typing import Any

from django.db.backends.utils import truncate_name
from django.db.migrations.operations.base import Operation


class DropPatternIndex(Operation):
    """Drop the `varchar_pattern_ops` index PostgreSQL's schema editor adds beside the
    unique index of a unique CharField (named `<table>_<column>_<hash>_like`).

    It serves only `LIKE 'prefix%'` lookups. A field that is only ever matched exactly (or
    case-insensitively, which it cannot serve) pays for it on every write, and the planner
    can pick it for a `startswith` filter over a far more selective index. Nothing in the
    migration state changes; an AlterField of the field later adds it back.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str, name: str) -> None:
        self.model_name = model_name
        self.name = name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__name__, [], {"model_name": self.model_name, "name": self.name}

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def _model_and_field(self, app_label: str, state: Any) -> tuple[Any, Any]:
        model = state.apps.get_model(app_label, self.model_name)
        return model, model._meta.get_field(self.name)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model, field = self._model_and_field(app_label, to_state)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        table = model._meta.db_table
        with schema_editor.connection.cursor() as cursor:
            indexes = schema_editor.connection.introspection.get_constraints(cursor, table)
        for name, index in indexes.items():
            pattern = index["index"] and not index["unique"] and name.endswith("_like")
            if pattern and index["columns"] == [field.column]:
                schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model, field = self._model_and_field(app_label, to_state)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        table = model._meta.db_table
        name = truncate_name(f"{table}_{field.column}_like", schema_editor.connection.ops.max_name_length())
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"CREATE INDEX {quote(name)} ON {quote(table)} ({quote(field.column)} varchar_pattern_ops)"
        )

    def describe(self) -> str:
        return f"Drop the LIKE pattern index of {self.model_name}.{self.name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"drop_{self.model_name.lower()}_{self.name.lower()}_like"
