"""Every migration can be undone (docs/releases.md): what a rollback relies on.

1. On an empty database: every app to zero, then forward again.
2. On demo data: the last migration of each of our apps backward, then forward.

A migration that cannot be undone fails here unless it says why
(``irreversible_reason``), which the release's pre-flight also asks.
"""

from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# Minutes on a loaded 2-core machine (every migration of ours runs twice).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]


def _executor() -> MigrationExecutor:
    return MigrationExecutor(connection)


def _our_apps() -> list[str]:
    return sorted(
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(settings.BASE_DIR)
        and "site-packages" not in Path(config.path).parts
        and (Path(config.path) / "migrations").is_dir()
    )


def _leaves() -> list[tuple[str, str]]:
    return _executor().loader.graph.leaf_nodes()


def _irreversible(executor: MigrationExecutor, node) -> bool:
    migration = executor.loader.graph.nodes[node]
    return bool(getattr(migration, "irreversible_reason", "")) and any(
        not getattr(operation, "reversible", True) for operation in migration.operations
    )


def test_every_app_migrates_to_zero_and_back_on_an_empty_database():
    leaves = _leaves()
    call_command(
        "flush", interactive=False, verbosity=0, inhibit_post_migrate=True
    )  # not even the roles' rows
    _executor().migrate([(label, None) for label in _our_apps()])
    applied = _executor().loader.applied_migrations
    assert not [node for node in applied if node[0] in _our_apps()]

    call_command("migrate", verbosity=0)  # with post_migrate: content types, roles

    applied = _executor().loader.applied_migrations
    assert all(leaf in applied for leaf in leaves)


def test_the_last_migration_of_each_app_goes_back_and_forth_on_demo_data():
    call_command("demo_data", stdout=StringIO())
    executor = _executor()
    leaves = executor.loader.graph.leaf_nodes()
    for label in _our_apps():
        leaf = max(node for node in leaves if node[0] == label)
        if _irreversible(executor, leaf):
            continue
        parents = [p for p in executor.loader.graph.node_map[leaf].parents if p.key[0] == label]
        executor.migrate([(label, parents[0].key[1]) if parents else (label, None)])
        executor.loader.build_graph()
        assert leaf not in executor.loader.applied_migrations, label
        executor.migrate(leaves)
        executor.loader.build_graph()
        assert leaf in executor.loader.applied_migrations, label
    call_command("migrate", verbosity=0)
