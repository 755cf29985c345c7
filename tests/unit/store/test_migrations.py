"""The migrations build exactly the schema the tables declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from monitor.store import Database
from monitor.store.tables import Base


def test_migrated_schema_matches_the_tables(database: Database) -> None:
    with database.engine.connect() as conn:
        schema = database.engine.dialect.default_schema_name
        context = MigrationContext.configure(conn, opts={"include_schemas": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"tables and migrations differ (schema {schema}): {diff}"
    assert database.current_revision() == "0006"
