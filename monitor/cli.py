"""The ``watchkeeper`` command."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from monitor import __version__
from monitor.cli_silences import add_parsers as add_silences_parsers
from monitor.config import ConfigErrors, ServiceConfig, load_service_config
from monitor.core.errors import WatchkeeperError
from monitor.core.model import AlertState
from monitor.service.api import to_json
from monitor.service.assembly import Rules, Watchkeeper, load, load_rules
from monitor.slo.windows import fmt_window

__all__ = ["main"]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config)


def _service_config(args: argparse.Namespace) -> ServiceConfig:
    path = _config_path(args)
    if not path.exists() and args.config_is_default:
        return ServiceConfig(source="(defaults)")
    return load_service_config(path)


def _build(args: argparse.Namespace) -> Watchkeeper:
    path = _config_path(args)
    if not path.exists() and args.config_is_default:
        return Watchkeeper(ServiceConfig(source="(defaults)"), Rules())
    return Watchkeeper.from_file(path)


# -- output --------------------------------------------------------------------------
def _emit(args: argparse.Namespace, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if args.output == "json":
        print(json.dumps(rows, indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    Console(soft_wrap=True).print(table)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# -- commands ------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    path = _config_path(args)
    try:
        config, rules = load(path)
        _check_against_store(config, rules)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error)
        print(exc.summary)
        return EXIT_PROBLEMS
    print(f"{path}: ok ({len(config.targets)} targets, {len(config.receivers)} receivers, "
          f"{len(rules.slos)} SLOs, {len(rules.policies)} remediation policies)")
    return EXIT_OK


def _check_against_store(config: ServiceConfig, rules: Rules) -> None:
    """Check SLO selectors against the stored series, when the database has any."""
    from monitor.slo.validation import check_against_store
    from monitor.store import Database, SampleStore

    url = config.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return  # nothing scraped yet: nothing to check against (and nothing to create)
    db = Database(url)
    try:
        if db.current_revision() is None:
            return
        samples = SampleStore(db)
        if not samples.metrics():
            return
        ConfigErrors.raise_if_any(check_against_store(rules.slos, samples))
    finally:
        db.dispose()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from monitor.store import Database

    db = Database(_service_config(args).database_url)
    try:
        db.upgrade()
        print(f"database {db.display_url} is at schema {db.current_revision()}")
    finally:
        db.dispose()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from monitor.service.server import Server

    server = Server(_build(args))
    server.start()
    print(f"watchkeeper {__version__} serving on {server.app.base_url}", flush=True)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.wait()
    server.stop()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.demo import run_demo

    return run_demo(headless=args.headless, workdir=Path(args.workdir) if args.workdir else None,
                    timeout=args.timeout)


def _with_app(args: argparse.Namespace, fn: Callable[[Watchkeeper], int]) -> int:
    app = _build(args)
    try:
        app.db.upgrade()
        return fn(app)
    finally:
        app.close()


def cmd_alerts_list(args: argparse.Namespace) -> int:
    def run(app: Watchkeeper) -> int:
        rows = [to_json(a) for a in app.alerts.all()]
        _emit(args, rows, ["name", "state", "labels", "value", "fired_at", "resolved_at"])
        return EXIT_OK
    return _with_app(args, run)


def cmd_slo_status(args: argparse.Namespace) -> int:
    def run(app: Watchkeeper) -> int:
        firing: dict[str, list[str]] = {}
        for alert in app.alerts.all([AlertState.FIRING, AlertState.PENDING]):
            slo = alert.labels.get("slo", "")
            firing.setdefault(slo, []).append(f"{alert.severity or alert.name}:{alert.state}")
        rows = []
        for status in app.slo.evaluate().statuses:
            row = to_json(status)
            row["group"] = ",".join(f"{k}={v}" for k, v in status.group.items())
            row["burn"] = " ".join(f"{fmt_window(w)}={r:.2f}x" for w, r in status.burn_rates
                                   if r is not None) or "-"
            row["alerts"] = " ".join(firing.get(status.name, [])) or "ok"
            row["forecast"] = (fmt_window(status.time_to_exhaustion)
                               if status.time_to_exhaustion is not None else "-")
            rows.append(row)
        _emit(args, rows, ["name", "group", "objective", "sli_ratio", "error_budget_remaining",
                           "burn", "alerts", "forecast", "state"])
        return EXIT_OK
    return _with_app(args, run)


def cmd_slo_convert(args: argparse.Namespace) -> int:
    from monitor.config import ConfigError, load_file
    from monitor.slo.convert import to_native_yaml
    from monitor.slo.formats import is_slo_document, read_slos

    errors: list[ConfigError] = []
    docs = [doc for name in args.files for doc in load_file(Path(name), name, errors)]
    specs = read_slos([d for d in docs if is_slo_document(d)], errors)
    ConfigErrors.raise_if_any(errors)
    if not specs:
        print("no SLOs found in " + ", ".join(args.files), file=sys.stderr)
        return EXIT_PROBLEMS
    text = to_native_yaml(specs)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {len(specs)} SLOs to {args.out}")
    else:
        print(text, end="")
    return EXIT_OK


def cmd_rules_generate(args: argparse.Namespace) -> int:
    from monitor.config import parse_duration
    from monitor.slo.rules import write_rules

    period = parse_duration(args.sloth_default_period)
    if args.rules:
        config = ServiceConfig(source="--rules", rules_dir=Path(args.rules))
    else:
        config, _rules = load(_config_path(args))
    rules = load_rules(config, sloth_period=period, for_service=False)
    written = write_rules(rules.slos, Path(args.out), recordings=not args.disable_recordings)
    for path in written:
        print(path)
    return EXIT_OK


def cmd_actions_list(args: argparse.Namespace) -> int:
    def run(app: Watchkeeper) -> int:
        rows = [to_json(r) for r in app.runs.list(limit=args.limit)]
        _emit(args, rows, ["id", "policy", "action", "model", "state", "created_at", "error"])
        return EXIT_OK
    return _with_app(args, run)


def cmd_actions_show(args: argparse.Namespace) -> int:
    def run(app: Watchkeeper) -> int:
        found = app.runs.get(args.id)
        if found is None:
            print(f"no action run {args.id}; list them with: watchkeeper actions list",
                  file=sys.stderr)
            return EXIT_PROBLEMS
        row = {**to_json(found), "audit": to_json(app.runs.audit(args.id))}
        if args.output == "json":
            print(json.dumps(row, indent=2, sort_keys=True))
        else:
            for key, value in row.items():
                if key != "audit":
                    print(f"{key:18} {_cell(value)}")
            for event in row["audit"]:
                print(f"  {event['at']}  {event['actor']:24} {event['event']:14} "
                      f"{_cell(event['detail'])}")
        return EXIT_OK
    return _with_app(args, run)


def cmd_models_list(args: argparse.Namespace) -> int:
    def run(app: Watchkeeper) -> int:
        rows = []
        for model in app.registry.models():
            aliases = app.registry.aliases(model)
            for v in app.registry.versions(model):
                rows.append({**to_json(v), "aliases": ",".join(
                    sorted(a for a, ver in aliases.items() if ver == v.version))})
        _emit(args, rows, ["model", "version", "aliases", "artifact", "created_at"])
        return EXIT_OK
    return _with_app(args, run)


def cmd_models_register(args: argparse.Namespace) -> int:
    def run(app: Watchkeeper) -> int:
        metrics: dict[str, float] = {}
        if args.metrics:
            raw = json.loads(Path(args.metrics).read_text(encoding="utf-8"))
            metrics = {k: float(v) for k, v in raw.items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)}
        now = app.clock.now()
        version = app.registry.register(args.model, args.version, args.artifact, metrics, {},
                                        now)
        for alias in args.alias or []:
            app.registry.set_alias(args.model, alias, args.version, now)
        print(f"registered {version.model} {version.version}"
              + (f" as {', '.join(args.alias)}" if args.alias else ""))
        return EXIT_OK
    return _with_app(args, run)


# -- parser --------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=None, metavar="FILE",
                        help="service file (default: ./watchkeeper.yaml)")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--output", choices=["table", "json"], default="table")
    p = argparse.ArgumentParser(prog="watchkeeper", description=(
        "A self-hosted SRE control loop for machine-learning models."))
    p.add_argument("--version", action="version", version=f"watchkeeper {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the whole loop on a demo model")
    demo.add_argument("--headless", action="store_true", help="print events as lines; exit "
                      "0 when the loop completed")
    demo.add_argument("--workdir", help="keep the demo's files here (default: a temp folder)")
    demo.add_argument("--timeout", type=float, default=240.0, help="give up after SECONDS")
    demo.set_defaults(func=cmd_demo)
    sub.add_parser("serve", parents=[common], help="run the service").set_defaults(
        func=cmd_serve)
    sub.add_parser("check", parents=[common], help="validate the service file and rules"
                   ).set_defaults(func=cmd_check)
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", parents=[common], help="apply migrations").set_defaults(
        func=cmd_db_upgrade)
    alerts = sub.add_parser("alerts", help="alerts").add_subparsers(dest="sub", required=True)
    alerts.add_parser("list", parents=[common, out]).set_defaults(func=cmd_alerts_list)
    slo = sub.add_parser("slo", help="SLOs").add_subparsers(dest="sub", required=True)
    slo.add_parser("status", parents=[common, out],
                   help="SLI, budget, burn per window, alerts, forecast").set_defaults(
        func=cmd_slo_status)
    convert = slo.add_parser("convert", help="turn Sloth/OpenSLO/native files into native YAML")
    convert.add_argument("files", nargs="+", metavar="FILE")
    convert.add_argument("--out", help="write here instead of standard output")
    convert.set_defaults(func=cmd_slo_convert)
    rules = sub.add_parser("rules", help="Prometheus rules").add_subparsers(dest="sub",
                                                                           required=True)
    generate = rules.add_parser("generate", parents=[common],
                                help="write Sloth-compatible recording and alerting rules")
    generate.add_argument("--out", required=True, metavar="DIR")
    generate.add_argument("--rules", metavar="DIR",
                          help="read this rules folder alone (no service file needed)")
    generate.add_argument("--sloth-default-period", default="30d", metavar="DURATION",
                          help="period of Sloth files, which carry none (Sloth's "
                          "--default-slo-period); default 30d")
    generate.add_argument("--disable-recordings", action="store_true",
                          help="leave out the SLI and metadata recording rules (as Sloth's "
                          "flag of that name)")
    generate.set_defaults(func=cmd_rules_generate)
    actions = sub.add_parser("actions", help="remediation action runs").add_subparsers(
        dest="sub", required=True)
    listing = actions.add_parser("list", parents=[common, out])
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=cmd_actions_list)
    show = actions.add_parser("show", parents=[common, out])
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_actions_show)
    models = sub.add_parser("models", help="model registry").add_subparsers(dest="sub",
                                                                            required=True)
    models.add_parser("list", parents=[common, out]).set_defaults(func=cmd_models_list)
    register = models.add_parser("register", parents=[common])
    register.add_argument("model")
    register.add_argument("version")
    register.add_argument("--artifact", required=True)
    register.add_argument("--metrics", help="metrics JSON written by the trainer")
    register.add_argument("--alias", action="append", help="e.g. production (repeatable)")
    register.set_defaults(func=cmd_models_register)
    add_silences_parsers(sub, common, out)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    if hasattr(args, "config"):
        args.config_is_default = args.config is None
        args.config = args.config or "watchkeeper.yaml"
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(exc.summary, file=sys.stderr)
        return EXIT_PROBLEMS
    except WatchkeeperError as exc:
        print(f"watchkeeper: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return 130
