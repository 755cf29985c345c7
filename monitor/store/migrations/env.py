"""Alembic environment: runs migrations on the engine handed over by ``Database.upgrade``."""

from __future__ import annotations

from alembic import context

from monitor.store.tables import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True)
    context.run_migrations()
