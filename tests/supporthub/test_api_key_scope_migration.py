"""Upgrading: API keys made before scopes existed keep what they could do (admin)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import CreateModel

from supporthub.models import APIKeyScope


def _scopes_migration(executor: MigrationExecutor) -> tuple[str, str]:
    for (app, name), migration in executor.loader.disk_migrations.items():
        if app == "supporthub" and any(
            isinstance(op, CreateModel) and op.name == "APIKeyScope" for op in migration.operations
        ):
            return app, name
    raise AssertionError("no migration creates APIKeyScope")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_keys_made_before_scopes_get_the_admin_scope():
    executor = MigrationExecutor(connection)
    target = _scopes_migration(executor)
    [before] = [
        node for node in executor.loader.graph.node_map[target].parents if node.key[0] == "supporthub"
    ]
    executor.migrate([before.key])
    old = executor.loader.project_state([before.key]).apps.get_model("rest_framework_api_key", "APIKey")
    old.objects.create(id="legacy01.x", prefix="legacy01", hashed_key="x", name="website form")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert APIKeyScope.objects.get(key_id="legacy01.x").scope == "admin"
