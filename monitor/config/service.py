"""The service file, ``watchkeeper.yaml``: database, listen address, intervals, targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from monitor.config.durations import fmt_duration
from monitor.config.errors import ConfigError, ConfigErrors, SourceLocation
from monitor.config.schema import Fields, suggest
from monitor.config.secrets import Secret
from monitor.config.yaml import load_documents

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Intervals",
    "LocalBackendConfig",
    "ReceiverConfig",
    "ServiceConfig",
    "TargetConfig",
    "load_service_config",
    "read_service_config",
]

DEFAULT_DATABASE_URL = "sqlite:///watchkeeper.db"
RECEIVER_TYPES = {"console", "slack", "slack-webhook", "pagerduty", "webhook", "alertmanager"}
_TOP = {
    "database",
    "listen",
    "intervals",
    "rules",
    "scrape",
    "targets",
    "receivers",
    "backends",
    "retention",
    "external_url",
    "prometheus",
    "fallback_receiver",
    "alertmanager_webhook",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Intervals:
    """How often each scheduled job runs."""

    scrape: timedelta = timedelta(seconds=15)
    evaluation: timedelta = timedelta(seconds=15)
    delivery: timedelta = timedelta(seconds=5)
    remediation: timedelta = timedelta(seconds=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetConfig:
    """One Prometheus text-format endpoint to scrape."""

    name: str
    url: str
    interval: timedelta
    timeout: timedelta
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timeout > self.interval:
            raise ValueError(
                f"timeout {fmt_duration(self.timeout)} must not exceed interval "
                f"{fmt_duration(self.interval)}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiverConfig:
    """Where notifications go.

    ``slack``: ``channel`` and bot ``token`` (Web API, ``base_url`` for a stand-in);
    ``slack-webhook``: a secret incoming-webhook ``url``; ``pagerduty``: an Events API v2
    ``routing_key`` (and ``url`` for a stand-in); ``webhook``: ``url`` with an optional
    bearer ``token``, sent Alertmanager's webhook JSON; ``alertmanager``: the ``url`` of an
    Alertmanager to push alerts to (API v2); ``console``: a file ``path`` or stdout.
    """

    name: str
    type: str
    severities: tuple[str, ...] = ()
    channel: str = ""
    token: Secret | None = None
    routing_key: Secret | None = None
    url: Secret | None = None
    base_url: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalBackendConfig:
    """The ``local`` remediation backend: deploy hooks of locally served models."""

    deploy_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceConfig:
    """Everything in ``watchkeeper.yaml``, checked and resolved."""

    source: str
    database_url: str = DEFAULT_DATABASE_URL
    listen_host: str = "127.0.0.1"
    listen_port: int = 9464
    external_url: str = ""
    rules_dir: Path = Path("rules")
    intervals: Intervals = field(default_factory=Intervals)
    scrape_timeout: timedelta = timedelta(seconds=10)
    scrape_concurrency: int = 16
    sample_retention: timedelta = timedelta(days=35)
    targets: tuple[TargetConfig, ...] = ()
    receivers: tuple[ReceiverConfig, ...] = ()
    local_backend: LocalBackendConfig = field(default_factory=LocalBackendConfig)
    prometheus_url: str = ""
    fallback_receiver: str = ""
    alertmanager_webhook_token: Secret | None = None


def load_service_config(path: Path, *, display: str | None = None) -> ServiceConfig:
    """Load ``watchkeeper.yaml``; raise :class:`ConfigErrors` with every problem found."""
    config, errors = read_service_config(path, display=display)
    ConfigErrors.raise_if_any(errors)
    assert config is not None
    return config


def read_service_config(
    path: Path, *, display: str | None = None
) -> tuple[ServiceConfig | None, list[ConfigError]]:
    """Read ``watchkeeper.yaml`` as far as it goes; return it with the problems found.

    The configuration is returned even when there are problems (with defaults in their
    place), so that a check can go on to the rules folder and report its problems too.
    """
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [
            ConfigError(
                SourceLocation(name),
                "",
                f"cannot read file: {exc}",
                "pass --config FILE or create watchkeeper.yaml",
            )
        ]
    docs, errors = load_documents(text, name)
    if len(docs) > 1:
        errors.append(ConfigError(SourceLocation(name), "", "expected one YAML document"))
    root = docs[0] if docs else None
    top = Fields(
        root, path="", context="", errors=errors, allowed=_TOP, where=SourceLocation(name, 1, 1)
    )
    return _read(top, path.parent), errors


def _read(top: Fields, base: Path) -> ServiceConfig:
    db = top.sub("database", {"url"})
    secret_url = db.secret("url")  # may carry a password: ${ENV} references allowed
    url = secret_url.reveal() if secret_url else DEFAULT_DATABASE_URL
    if url:
        db.check(
            "url",
            url.split(":", 1)[0].split("+")[0] in {"sqlite", "postgresql"},
            f"unsupported database URL scheme in {url.split(':', 1)[0]!r}",
            "use sqlite:///FILE or postgresql+psycopg://HOST/DB",
        )
    listen = top.str("listen", "127.0.0.1:9464")
    host, _, port_text = listen.rpartition(":")
    top.check(
        "listen",
        bool(host) and port_text.isdigit() and int(port_text) < 65536,
        f"invalid listen address {listen!r}",
        "use HOST:PORT, e.g. 127.0.0.1:9464",
    )
    iv = top.sub("intervals", {"scrape", "evaluation", "delivery", "remediation"})
    defaults = Intervals()
    intervals = Intervals(
        scrape=iv.duration("scrape", defaults.scrape),
        evaluation=iv.duration("evaluation", defaults.evaluation),
        delivery=iv.duration("delivery", defaults.delivery),
        remediation=iv.duration("remediation", defaults.remediation),
    )
    scrape = top.sub("scrape", {"timeout", "concurrency"})
    timeout = scrape.duration("timeout", timedelta(seconds=10))
    concurrency = scrape.int("concurrency", 16)
    scrape.check("concurrency", concurrency > 0, f"must be at least 1, got {concurrency}")
    rules = top.str("rules", "rules")
    receivers = _receivers(top, base)
    fallback = top.str("fallback_receiver")
    names = [r.name for r in receivers]
    top.check("fallback_receiver", not fallback or fallback in names,
              f"no receiver named {fallback!r}", suggest(fallback, names, "receivers"))
    return ServiceConfig(
        source=str(top.where.path),
        database_url=_absolute_sqlite(url or DEFAULT_DATABASE_URL, base),
        listen_host=host or "127.0.0.1",
        listen_port=int(port_text) if port_text.isdigit() else 9464,
        external_url=top.str("external_url"),
        rules_dir=(base / rules) if not Path(rules).is_absolute() else Path(rules),
        intervals=intervals,
        scrape_timeout=timeout,
        scrape_concurrency=max(concurrency, 1),
        sample_retention=top.duration("retention", timedelta(days=35)),
        targets=_targets(top, intervals.scrape, timeout),
        receivers=receivers,
        local_backend=_local_backend(top),
        prometheus_url=_prometheus_url(top),
        fallback_receiver=fallback if fallback in names else "",
        alertmanager_webhook_token=_alertmanager_webhook_token(top),
    )


def _targets(top: Fields, interval: timedelta, timeout: timedelta) -> tuple[TargetConfig, ...]:
    out: list[TargetConfig] = []
    seen: dict[str, SourceLocation] = {}
    for t in top.item_fields("targets", {"name", "url", "interval", "timeout", "labels"}):
        name, url = t.str("name", required=True), t.str("url", required=True)
        if url:
            parsed = urlparse(url)
            t.check(
                "url",
                parsed.scheme in {"http", "https"} and bool(parsed.netloc),
                f"invalid target URL {url!r}",
                "use http://HOST:PORT/metrics",
            )
        if name in seen:
            t.error(
                t.at("name"),
                f"{t.path}.name",
                f'duplicate target name "{name}" (first at {seen[name]})',
            )
        seen[name] = t.at("name")
        t_interval = t.duration("interval", interval)
        t_timeout = t.duration("timeout", min(timeout, t_interval))
        if t_timeout > t_interval:
            t.error(
                t.at("timeout"),
                f"{t.path}.timeout",
                f"timeout {fmt_duration(t_timeout)} must not exceed the scrape interval "
                f"({fmt_duration(t_interval)})",
            )
            t_timeout = t_interval
        if name and url:
            out.append(
                TargetConfig(
                    name=name,
                    url=url,
                    interval=t_interval,
                    timeout=t_timeout,
                    labels=t.str_map("labels"),
                )
            )
    return tuple(out)


_RECEIVER_KEYS = {
    "name",
    "type",
    "severities",
    "channel",
    "token",
    "routing_key",
    "url",
    "base_url",
    "path",
}
# Which keys each receiver type requires (beyond name and type).
_REQUIRED = {
    "slack": {"channel", "token"},
    "slack-webhook": {"url"},
    "pagerduty": {"routing_key"},
    "webhook": {"url"},
    "alertmanager": {"url"},
    "console": set(),
}


def _receivers(top: Fields, base: Path) -> tuple[ReceiverConfig, ...]:
    out: list[ReceiverConfig] = []
    seen: dict[str, SourceLocation] = {}
    for r in top.item_fields("receivers", _RECEIVER_KEYS):
        name = r.str("name", required=True)
        if name in seen:
            r.error(
                r.at("name"),
                f"{r.path}.name",
                f'duplicate receiver name "{name}" (first at {seen[name]})',
            )
        seen.setdefault(name, r.at("name"))
        kind = r.choice("type", RECEIVER_TYPES, "console")
        required = _REQUIRED[kind]
        severities = tuple(str(s) for _, s, _ in r.items("severities"))
        url = r.secret("url", required="url" in required)
        if url is not None:
            parsed = urlparse(url.reveal())
            r.check(
                "url",
                parsed.scheme in {"http", "https"} and bool(parsed.netloc),
                "invalid receiver URL",
                "use http(s)://HOST/PATH",
            )
        out.append(
            ReceiverConfig(
                name=name,
                type=kind,
                severities=severities,
                channel=r.str("channel", required="channel" in required),
                token=r.secret("token", required="token" in required),
                routing_key=r.secret("routing_key", required="routing_key" in required),
                url=url,
                base_url=r.str("base_url"),
                path=_relative_to(base, r.str("path")),
            )
        )
    return tuple(out)


def _local_backend(top: Fields) -> LocalBackendConfig:
    backends = top.sub("backends", {"local"})
    local = backends.sub("local", {"deploy_urls"})
    return LocalBackendConfig(deploy_urls=local.str_map("deploy_urls"))


def _absolute_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url


def _relative_to(base: Path, path: str) -> str:
    """Resolve a relative file path against the service file's folder."""
    return str(base / path) if path and not Path(path).is_absolute() else path


def _prometheus_url(top: Fields) -> str:
    """Read ``prometheus.url``: the PromQL SLI source for SLOs with ``source: prometheus``."""
    prom = top.sub("prometheus", {"url"})
    url = prom.str("url")
    if url:
        parsed = urlparse(url)
        prom.check(
            "url",
            parsed.scheme in {"http", "https"} and bool(parsed.netloc),
            f"invalid Prometheus URL {url!r}",
            "use http://HOST:9090",
        )
    return url.rstrip("/")


def _alertmanager_webhook_token(top: Fields) -> Secret | None:
    """Read ``alertmanager_webhook.token``: the bearer token Alertmanager's webhook must send.

    Without it ``POST /api/v1/alertmanager/webhook`` is disabled.
    """
    if not top.has("alertmanager_webhook"):
        return None
    section = top.sub("alertmanager_webhook", {"token"})
    before = len(section.errors)
    token = section.secret("token", required=True)
    if len(section.errors) == before and (token is None or not token.reveal().strip()):
        section.error(section.at("token"), "alertmanager_webhook.token", "the token is empty",
                      "set it to a long random string from the environment, e.g. ${AM_TOKEN}")
        return None
    return token
