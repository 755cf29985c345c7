"""``watchkeeper silences add|list|expire``: mute alerts for a while, as amtool does."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from monitor.alerting.silences import (
    Silence,
    SilenceError,
    SilenceState,
    new_silence,
    parse_silence_matchers,
    parse_time,
)
from monitor.config.durations import parse_duration
from monitor.service.api_silences import rfc3339, silence_to_api
from monitor.service.assembly import Watchkeeper
from monitor.store.silences import SilenceStore

__all__ = ["add_parsers", "cmd_silences_add", "cmd_silences_expire", "cmd_silences_list"]

# monitor.cli imports this module to add its parsers, so its helpers are imported when a
# command runs, not when this module loads.

_EPILOG = """\
matchers: name=value, name!=value, name=~regex, name!~regex; a value may be in double
quotes, with \\" and \\\\ escaped inside; a bare first word is the alert name. A silence
mutes an alert when every matcher matches its labels; regexes are anchored at both ends.

examples:
  watchkeeper silences add alertname=ModelLatencyHigh model=churn --duration 2h \\
      --author alice --comment "deploying v2"
  watchkeeper silences add 'severity=~"page|ticket"' --start 2026-01-01T22:00:00Z \\
      --end 2026-01-02T02:00:00Z --author ops --comment "maintenance window"
"""


def cmd_silences_add(args: argparse.Namespace) -> int:
    """Add a silence and print its id."""
    from monitor.cli import EXIT_OK, _with_app

    matchers = parse_silence_matchers(args.matchers)
    duration = None
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except ValueError as exc:
            raise SilenceError(f"--duration: {exc}") from exc
    starts_at = parse_time(args.start, "--start") if args.start else None
    ends_at = parse_time(args.end, "--end") if args.end else None

    def run(app: Watchkeeper) -> int:
        silence = new_silence(matchers=matchers, created_by=args.author, comment=args.comment,
                              now=app.clock.now(), starts_at=starts_at, ends_at=ends_at,
                              duration=duration)
        SilenceStore(app.db).add(silence)
        print(silence.id)
        return EXIT_OK
    return _with_app(args, run)


def _row(silence: Silence, now: datetime) -> dict[str, str]:
    return {"id": silence.id, "matchers": " ".join(str(m) for m in silence.matchers),
            "state": silence.state(now).value, "starts_at": rfc3339(silence.starts_at),
            "ends_at": rfc3339(silence.ends_at), "created_by": silence.created_by,
            "comment": silence.comment}


def cmd_silences_list(args: argparse.Namespace) -> int:
    """List silences, optionally of one state, as a table or as Alertmanager's JSON."""
    from monitor.cli import EXIT_OK, _emit, _with_app

    def run(app: Watchkeeper) -> int:
        now = app.clock.now()
        found = SilenceStore(app.db).list(now, args.state)
        if args.output == "json":
            text = json.dumps([silence_to_api(s, now) for s in found], indent=2, sort_keys=True)
            print(text)
        else:
            _emit(args, [_row(s, now) for s in found], ["id", "matchers", "state", "starts_at",
                                                        "ends_at", "created_by", "comment"])
        return EXIT_OK
    return _with_app(args, run)


def cmd_silences_expire(args: argparse.Namespace) -> int:
    """Expire silences by id, now."""
    from monitor.cli import EXIT_OK, _with_app

    def run(app: Watchkeeper) -> int:
        store = SilenceStore(app.db)
        for silence_id in args.ids:
            silence = store.expire(silence_id, app.clock.now())
            print(f"expired {silence.id} at {rfc3339(silence.ends_at)}")
        return EXIT_OK
    return _with_app(args, run)


def add_parsers(sub: Any, common: argparse.ArgumentParser,
                out: argparse.ArgumentParser) -> None:
    """Add ``silences add|list|expire`` to the subcommands *sub* of ``watchkeeper``.

    *common* carries ``--config`` and *out* ``--output table|json``, as in ``monitor.cli``.
    """
    silences = sub.add_parser("silences", help="mute alerts for a while").add_subparsers(
        dest="sub", required=True)
    add = silences.add_parser(
        "add", parents=[common], help="add a silence; prints its id",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("matchers", nargs="+", metavar="MATCHER")
    add.add_argument("--author", required=True, help="who is silencing")
    add.add_argument("--comment", required=True, help="why the alerts are silenced")
    until = add.add_mutually_exclusive_group()
    until.add_argument("--duration", help="how long it lasts, e.g. 2h (default 1h)")
    until.add_argument("--end", metavar="TIME", help="when it ends, RFC 3339")
    add.add_argument("--start", metavar="TIME", help="when it starts, RFC 3339 (default now)")
    add.set_defaults(func=cmd_silences_add)
    listing = silences.add_parser("list", parents=[common, out], help="list silences")
    listing.add_argument("--state", choices=[s.value for s in SilenceState])
    listing.set_defaults(func=cmd_silences_list)
    expire = silences.add_parser("expire", parents=[common], help="end silences now")
    expire.add_argument("ids", nargs="+", metavar="ID")
    expire.set_defaults(func=cmd_silences_expire)
