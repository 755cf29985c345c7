"""The model registry: versions with their artifacts and metrics, and named aliases.

Two aliases matter to remediation: ``production`` is the version being served and
``previous`` the one it replaced. A rollback swaps them, the way ``kubectl rollout undo``
returns to the revision before the current one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.core.errors import StoreError
from monitor.core.time import from_epoch, to_epoch
from monitor.store.engine import Database
from monitor.store.tables import ModelAliasRow, ModelVersionRow

__all__ = [
    "PREVIOUS",
    "ROLLED_BACK",
    "PRODUCTION",
    "DuplicateVersionError",
    "ModelRegistry",
    "ModelVersion",
    "UnknownVersionError",
]

PRODUCTION = "production"
PREVIOUS = "previous"
ROLLED_BACK = "rolled_back"


class DuplicateVersionError(StoreError):
    """A model version is registered twice."""

    def __init__(self, model: str, version: str) -> None:
        self.model, self.version = model, version
        super().__init__(f"model {model!r}: version {version!r} is already registered; "
                         "versions are immutable, register the new artifact under a new version")


class UnknownVersionError(StoreError, LookupError):
    """An alias or lookup names a version that is not registered."""

    def __init__(self, model: str, version: str, known: list[str]) -> None:
        self.model, self.version, self.known = model, version, known
        listed = ", ".join(known) if known else "none"
        super().__init__(f"model {model!r} has no version {version!r}; "
                         f"registered versions: {listed}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersion:
    """One registered, immutable version of a model."""

    model: str
    version: str
    artifact: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("model must not be empty")
        if not self.version:
            raise ValueError(f"model {self.model!r}: version must not be empty")


def _to_version(row: ModelVersionRow) -> ModelVersion:
    return ModelVersion(model=row.model, version=row.version, artifact=row.artifact,
                        metrics={k: float(v) for k, v in json.loads(row.metrics).items()},
                        parameters={k: str(v) for k, v in json.loads(row.parameters).items()},
                        created_at=from_epoch(row.created_at))


class ModelRegistry:
    """Register model versions and move the aliases that say which one is served."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register(self, model: str, version: str, artifact: str, metrics: Mapping[str, float],
                 parameters: Mapping[str, str], now: datetime) -> ModelVersion:
        """Record a new version; raise :class:`DuplicateVersionError` if it exists."""
        registered = ModelVersion(model=model, version=version, artifact=artifact,
                                  metrics=dict(metrics), parameters=dict(parameters),
                                  created_at=now)
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        stmt = insert(ModelVersionRow).values(
            model=model, version=version, artifact=artifact,
            metrics=json.dumps(dict(registered.metrics), sort_keys=True),
            parameters=json.dumps(dict(registered.parameters), sort_keys=True),
            created_at=to_epoch(now),
        ).on_conflict_do_nothing(index_elements=["model", "version"]).returning(ModelVersionRow.id)
        with self.db.session() as session:
            inserted = session.execute(stmt).scalar_one_or_none()
        if inserted is None:
            raise DuplicateVersionError(model, version)
        return registered

    def versions(self, model: str) -> list[ModelVersion]:
        """Return every version of *model*, oldest first."""
        with self.db.session() as session:
            return [_to_version(row) for row in self._rows(session, model)]

    def get(self, model: str, version: str) -> ModelVersion | None:
        """Return one version, or None if it is not registered."""
        with self.db.session() as session:
            row = session.scalars(select(ModelVersionRow).where(
                ModelVersionRow.model == model, ModelVersionRow.version == version)).first()
            return _to_version(row) if row is not None else None

    def models(self) -> list[str]:
        """Return the names of every model with a registered version."""
        with self.db.session() as session:
            return list(session.scalars(
                select(ModelVersionRow.model).distinct().order_by(ModelVersionRow.model)))

    def set_alias(self, model: str, alias: str, version: str, now: datetime) -> None:
        """Point *alias* at *version*; raise :class:`UnknownVersionError` if it is unknown."""
        self.set_aliases(model, {alias: version}, now)

    def set_aliases(self, model: str, aliases: Mapping[str, str], now: datetime) -> None:
        """Point several aliases at once, in one transaction (a rollback moves two)."""
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        with self.db.session() as session:
            known = [row.version for row in self._rows(session, model)]
            for alias, version in aliases.items():
                if not alias:
                    raise ValueError(f"model {model!r}: alias name must not be empty")
                if version not in known:
                    raise UnknownVersionError(model, version, known)
                stmt = insert(ModelAliasRow).values(
                    model=model, alias=alias, version=version, updated_at=to_epoch(now))
                session.execute(stmt.on_conflict_do_update(
                    index_elements=["model", "alias"],
                    set_={"version": version, "updated_at": to_epoch(now)}))

    def alias(self, model: str, alias: str) -> ModelVersion | None:
        """Return the version *alias* points at, or None if the alias is not set."""
        with self.db.session() as session:
            row = session.get(ModelAliasRow, (model, alias))
            if row is None:
                return None
            version = session.scalars(select(ModelVersionRow).where(
                ModelVersionRow.model == model, ModelVersionRow.version == row.version)).first()
            return _to_version(version) if version is not None else None

    def aliases(self, model: str) -> dict[str, str]:
        """Return ``{alias: version}`` for *model*."""
        with self.db.session() as session:
            rows = session.scalars(select(ModelAliasRow).where(ModelAliasRow.model == model)
                                   .order_by(ModelAliasRow.alias))
            return {row.alias: row.version for row in rows}

    def rollback_target(self, model: str) -> ModelVersion | None:
        """Return the version a rollback of *model* would serve, or None if there is none.

        That is the ``previous`` alias when it is set and differs from ``production``;
        otherwise the newest version registered before the production one. Without a
        ``production`` alias there is nothing to roll back from.
        """
        production = self.alias(model, PRODUCTION)
        if production is None:
            return None
        previous = self.alias(model, PREVIOUS)
        if previous is not None and previous.version != production.version:
            return previous
        older: ModelVersion | None = None
        for candidate in self.versions(model):
            if candidate.version == production.version:
                return older
            older = candidate
        return None

    @staticmethod
    def _rows(session: Session, model: str) -> list[ModelVersionRow]:
        return list(session.scalars(select(ModelVersionRow).where(ModelVersionRow.model == model)
                                    .order_by(ModelVersionRow.created_at, ModelVersionRow.id)))
