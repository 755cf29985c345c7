"""The model registry on both databases: versions, aliases and the rollback target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.errors import StoreError
from monitor.store import Database
from monitor.store.registry import (
    DuplicateVersionError,
    ModelRegistry,
    UnknownVersionError,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _registry(database: Database, *versions: str, model: str = "churn") -> ModelRegistry:
    registry = ModelRegistry(database)
    for i, version in enumerate(versions):
        registry.register(model, version, f"models/{model}/{version}.pt", {"auc": 0.8 + i / 100},
                          {"lr": "0.01"}, T0 + timedelta(hours=i))
    return registry


def test_versions_are_listed_oldest_first_with_their_metadata(database: Database) -> None:
    registry = _registry(database, "v1", "v2", "v3")
    _registry(database, "a", model="fraud")
    assert [v.version for v in registry.versions("churn")] == ["v1", "v2", "v3"]
    v2 = registry.get("churn", "v2")
    assert v2 is not None
    assert (v2.artifact, dict(v2.metrics), dict(v2.parameters), v2.created_at) == (
        "models/churn/v2.pt", {"auc": 0.81}, {"lr": "0.01"}, T0 + timedelta(hours=1))
    assert registry.get("churn", "v9") is None
    assert registry.models() == ["churn", "fraud"]
    assert registry.versions("nobody") == []


def test_registering_a_version_twice_is_an_error_naming_it(database: Database) -> None:
    registry = _registry(database, "v1")
    with pytest.raises(DuplicateVersionError, match="model 'churn': version 'v1' is already "
                                                    "registered") as info:
        registry.register("churn", "v1", "other.pt", {}, {}, T0)
    assert isinstance(info.value, StoreError)
    (stored,) = registry.versions("churn")
    assert stored.artifact == "models/churn/v1.pt"  # the first registration is kept


def test_alias_must_name_a_registered_version(database: Database) -> None:
    registry = _registry(database, "v1", "v2")
    with pytest.raises(UnknownVersionError) as info:
        registry.set_alias("churn", "production", "v7", T0)
    assert str(info.value) == ("model 'churn' has no version 'v7'; "
                               "registered versions: v1, v2")
    with pytest.raises(UnknownVersionError, match="registered versions: none"):
        registry.set_alias("fraud", "production", "v1", T0)
    assert registry.aliases("churn") == {}


def test_aliases_are_set_and_moved(database: Database) -> None:
    registry = _registry(database, "v1", "v2")
    registry.set_alias("churn", "production", "v1", T0)
    registry.set_alias("churn", "production", "v2", T0)
    registry.set_aliases("churn", {"previous": "v1", "staging": "v2"}, T0)
    assert registry.aliases("churn") == {"previous": "v1", "production": "v2", "staging": "v2"}
    production = registry.alias("churn", "production")
    assert production is not None and production.version == "v2"
    assert registry.alias("churn", "canary") is None


def test_failed_multi_alias_move_changes_nothing(database: Database) -> None:
    registry = _registry(database, "v1", "v2")
    registry.set_alias("churn", "production", "v2", T0)
    with pytest.raises(UnknownVersionError):
        registry.set_aliases("churn", {"previous": "v2", "production": "v9"}, T0)
    assert registry.aliases("churn") == {"production": "v2"}


def test_rollback_target_is_previous_alias_when_it_differs(database: Database) -> None:
    registry = _registry(database, "v1", "v2", "v3")
    assert registry.rollback_target("churn") is None  # nothing in production yet
    registry.set_alias("churn", "production", "v3", T0)
    target = registry.rollback_target("churn")
    assert target is not None and target.version == "v2"  # newest older than production
    registry.set_alias("churn", "previous", "v1", T0)
    target = registry.rollback_target("churn")
    assert target is not None and target.version == "v1"
    registry.set_alias("churn", "previous", "v3", T0)  # same as production: ignored
    target = registry.rollback_target("churn")
    assert target is not None and target.version == "v2"


def test_rollback_target_is_none_for_the_first_version(database: Database) -> None:
    registry = _registry(database, "v1", "v2")
    registry.set_alias("churn", "production", "v1", T0)
    assert registry.rollback_target("churn") is None
