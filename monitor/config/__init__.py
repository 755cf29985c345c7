"""Configuration: YAML with locations, schema checks, secrets, the service file and rule folder."""

from __future__ import annotations

from monitor.config.documents import Document, load_file, load_folder
from monitor.config.durations import fmt_duration, parse_duration
from monitor.config.errors import ConfigError, ConfigErrors, SourceLocation, WatchkeeperError
from monitor.config.schema import Fields, suggest
from monitor.config.secrets import Secret, resolve_env
from monitor.config.service import (
    DEFAULT_DATABASE_URL,
    Intervals,
    LocalBackendConfig,
    ReceiverConfig,
    ServiceConfig,
    TargetConfig,
    load_service_config,
    read_service_config,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ConfigError",
    "ConfigErrors",
    "Document",
    "Fields",
    "Intervals",
    "LocalBackendConfig",
    "ReceiverConfig",
    "Secret",
    "ServiceConfig",
    "SourceLocation",
    "TargetConfig",
    "WatchkeeperError",
    "fmt_duration",
    "load_file",
    "load_folder",
    "load_service_config",
    "parse_duration",
    "read_service_config",
    "resolve_env",
    "suggest",
]
