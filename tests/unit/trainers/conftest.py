"""Shared fixtures for the trainers tests: a dataset, two trained versions and a live server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from trainers.data import make_dataset, write_dataset
from trainers.serve import ModelServer
from trainers.tabular import LoadedModel, TrainConfig, TrainResult, load_model, train

ROWS = 2000
MODEL_NAME = "churn"

Scrape = Callable[..., float | None]


@pytest.fixture(scope="session")
def dataset_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "churn.parquet"
    write_dataset(make_dataset(ROWS, seed=0), path)
    return path


def _train(dataset: Path, out: Path, seed: int, version: str) -> TrainResult:
    return train(TrainConfig(data=dataset, target="churned", out=out, seed=seed, version=version))


@pytest.fixture(scope="session")
def trained_v1(dataset_path: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return _train(dataset_path, tmp_path_factory.mktemp("models") / "v1", seed=0, version="v1")


@pytest.fixture(scope="session")
def trained_v2(dataset_path: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return _train(dataset_path, tmp_path_factory.mktemp("models") / "v2", seed=1, version="v2")


@pytest.fixture(scope="session")
def loaded_versions(trained_v1: TrainResult, trained_v2: TrainResult) -> dict[str, LoadedModel]:
    return {"v1": load_model(trained_v1.out_dir), "v2": load_model(trained_v2.out_dir)}


@pytest.fixture()
def capture_path(tmp_path: Path) -> Path:
    return tmp_path / "capture" / "predictions.jsonl"


@pytest.fixture()
def server(loaded_versions: dict[str, LoadedModel], capture_path: Path) -> Iterator[ModelServer]:
    """A fresh in-process server (v2 in production, fault RNG seeded) per test."""
    model_server = ModelServer(
        model=MODEL_NAME,
        versions=loaded_versions,
        production="v2",
        port=0,
        capture=capture_path,
        seed=0,
    )
    model_server.start()
    try:
        yield model_server
    finally:
        model_server.stop()


@pytest.fixture()
def client(server: ModelServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5.0) as http:
        yield http


def _scrape_value(metrics_text: str, sample_name: str, **labels: str) -> float | None:
    """Value of the sample ``sample_name`` whose labels include ``labels``; None if absent."""
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name != sample_name:
                continue
            if all(sample.labels.get(key) == value for key, value in labels.items()):
                return float(sample.value)
    return None


@pytest.fixture()
def scrape_value() -> Callable[..., float | None]:
    """Parser for a ``/metrics`` text: ``scrape_value(text, sample_name, **labels)``."""
    return _scrape_value


@pytest.fixture()
def scrape(client: httpx.Client) -> Scrape:
    """Fetch ``/metrics`` and return one sample value (see :func:`_scrape_value`)."""

    def _scrape(sample_name: str, **labels: str) -> float | None:
        response = client.get("/metrics")
        assert response.status_code == 200
        return _scrape_value(response.text, sample_name, **labels)

    return _scrape


@pytest.fixture()
def good_row() -> dict[str, object]:
    return {
        "tenure_months": 3,
        "monthly_charges": 95.5,
        "support_calls": 4,
        "age": 29,
        "plan": "basic",
    }
