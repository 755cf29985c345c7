"""Read a time window of production inputs and outputs from capture files.

Two formats, one JSON document per line, in ``.jsonl`` or ``.jsonl.gz`` files:

``jsonl`` (native)
    ``{"time": "2026-01-05T10:00:00Z", "inputs": {"age": 41, "plan": "pro"},
    "outputs": {"score": 0.83}}`` — one row per line. ``time`` is an RFC 3339 string (a
    naive one is UTC) or Unix epoch seconds; ``time_field`` names another key. A *flat*
    line without ``inputs``/``outputs`` — ``{"ts": 1767607200, "age": 41, "score": 0.83}``
    — holds the inputs directly; the keys listed in ``output_columns`` are outputs.

``sagemaker`` (SageMaker data capture)
    ``{"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
    "data": "41,pro", "encoding": "CSV"}, "endpointOutput": {...}}, "eventMetadata":
    {"eventId": "…", "inferenceTime": "2026-01-05T10:00:00Z"}, "eventVersion": "0"}``.
    ``encoding`` is ``CSV``, ``JSON`` or ``BASE64``; a base64 body is read as CSV or JSON
    by its ``observedContentType``. One record may hold several rows: CSV lines, JSON
    Lines, a list of objects or lists, ``{"instances": [...]}`` (SageMaker/TF Serving),
    ``{"features": [...]}`` (SageMaker built-in algorithms), ``{"inputs": {...}}``
    (TF Serving columnar) or ``{"predictions": [...]}``. Request and response rows pair up
    one to one.

Columns: nested objects flatten to dotted names (``user.country``); a list value becomes
its JSON text. Positional values (CSV cells, JSON arrays) take their names from
``columns`` (inputs) or ``output_columns`` (outputs), else ``_c0``, ``_c1`` … as
SageMaker Model Monitor names headerless CSV columns. A CSV cell that reads as a number
is a number; an empty cell is missing.

Privacy: a field in ``drop_fields`` (its dotted name, or a parent's name) is removed while
the line is parsed, before any value is kept, and no error message quotes a field value.

Folders are read recursively in name order. Under SageMaker's ``yyyy/mm/dd/hh`` layout, hour
folders more than an hour away from the window are skipped without being opened. A line
that cannot be read (not UTF-8, not JSON, bad base64, wrong shape, bad timestamp) becomes a
:class:`LineError` and reading goes on. Files are streamed line by line: memory holds only
the rows inside the window.
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["CAPTURE_FORMATS", "MAX_ERRORS", "CaptureWindow", "LineError", "read_capture"]

CAPTURE_FORMATS = ("jsonl", "sagemaker")
MAX_ERRORS = 1000
_SUFFIXES = (".jsonl", ".jsonl.gz")
_HOUR_DIR = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/")
_SLACK = timedelta(hours=1)
Row = dict[str, object]
_OUTSIDE = datetime.min.replace(tzinfo=UTC)  # the time returned for a record outside the window


@dataclass(frozen=True, slots=True, kw_only=True)
class LineError:
    """One capture line that could not be read (1-based line number)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureWindow:
    """The rows captured in ``[start, end)``: column -> values, ``None`` where absent.

    Every column of ``inputs`` and ``outputs`` has ``rows`` values. ``errors`` keeps the
    first :data:`MAX_ERRORS` unreadable lines; ``error_count`` counts them all.
    """

    inputs: Mapping[str, list[object]]
    outputs: Mapping[str, list[object]]
    rows: int
    errors: tuple[LineError, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    error_count: int = 0
    records: int = 0
    outside: int = 0
    files: int = 0


class _BadLine(ValueError):
    """A line's content is wrong; the message never quotes a field value."""


class _Columns:
    """Column lists grown row by row, padded with ``None`` where a row lacks a column."""

    def __init__(self) -> None:
        self.data: dict[str, list[object]] = {}
        self.rows = 0

    def add(self, row: Mapping[str, object]) -> None:
        for name, value in row.items():
            column = self.data.get(name)
            if column is None:
                column = self.data[name] = [None] * self.rows
            column.append(value)
        self.rows += 1
        if len(row) < len(self.data):
            for column in self.data.values():
                if len(column) < self.rows:
                    column.append(None)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Options:
    drop: frozenset[str]
    columns: Sequence[str] | None
    output_columns: Sequence[str] | None
    time_field: str
    start: datetime | None
    end: datetime | None
    fmt: str

    def in_window(self, moment: datetime | None) -> bool:
        if moment is None:
            if self.start is not None or self.end is not None:
                raise _BadLine("the record has no time, so it cannot be placed in the window")
            return True
        return ((self.start is None or moment >= self.start)
                and (self.end is None or moment < self.end))


def read_capture(paths: Iterable[str | Path], *, format: str = "jsonl",
                 start: datetime | None = None, end: datetime | None = None,
                 drop_fields: Collection[str] = (), columns: Sequence[str] | None = None,
                 output_columns: Sequence[str] | None = None,
                 time_field: str = "time") -> CaptureWindow:
    """Read the capture rows whose time is in ``[start, end)`` from files or folders.

    Parameters
    ----------
    paths
        Capture files (``.jsonl``, ``.jsonl.gz``) or folders of them, read in order.
    format
        ``"jsonl"`` (native) or ``"sagemaker"`` (SageMaker data capture).
    start, end
        The window; ``None`` leaves that side open. A naive datetime is UTC.
    drop_fields
        PII fields removed before anything is kept.
    columns, output_columns
        Names of positional input and output values (CSV bodies, JSON arrays).
    time_field
        The time key of native lines.

    Raises
    ------
    ValueError
        An unknown format, or ``end`` not after ``start``.
    FileNotFoundError
        A path that does not exist.
    """
    if format not in CAPTURE_FORMATS:
        raise ValueError(f"unknown capture format {format!r}; use one of "
                         f"{', '.join(CAPTURE_FORMATS)}")
    start, end = _aware(start), _aware(end)
    if start is not None and end is not None and end <= start:
        raise ValueError(f"capture window end {end.isoformat()} must be after start "
                         f"{start.isoformat()}")
    opts = _Options(drop=frozenset(drop_fields), columns=columns,
                    output_columns=output_columns, time_field=time_field, start=start,
                    end=end, fmt=format)
    files = list(_files(paths, start, end))
    inputs, outputs = _Columns(), _Columns()
    errors: list[LineError] = []
    counts = {"errors": 0, "records": 0, "outside": 0}
    for path in files:
        for error in _read_file(path, opts, inputs, outputs, counts):
            counts["errors"] += 1
            if len(errors) < MAX_ERRORS:
                errors.append(error)
    return CaptureWindow(inputs=inputs.data, outputs=outputs.data, rows=inputs.rows,
                         errors=tuple(errors), start=start, end=end,
                         error_count=counts["errors"], records=counts["records"],
                         outside=counts["outside"], files=len(files))


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _files(paths: Iterable[str | Path], start: datetime | None,
           end: datetime | None) -> Iterator[Path]:
    """Yield capture files: given files as they are, folders recursively in name order."""
    listed: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"capture path {path} does not exist")
        listed.append(path)
    for path in listed:
        if not path.is_dir():
            yield path
            continue
        found = sorted((f.relative_to(path).as_posix(), f) for f in path.rglob("*")
                       if f.name.endswith(_SUFFIXES) and f.is_file())
        for relative, file in found:
            if _hour_in_window(relative, start, end):
                yield file


def _hour_in_window(relative: str, start: datetime | None, end: datetime | None) -> bool:
    """Return False when a ``yyyy/mm/dd/hh`` folder is over an hour away from the window."""
    match = _HOUR_DIR.search(relative)
    if match is None or (start is None and end is None):
        return True
    try:
        y, m, d, h = (int(g) for g in match.groups())
        hour = datetime(y, m, d, h, tzinfo=UTC)
    except ValueError:
        return True
    if start is not None and hour + timedelta(hours=1) + _SLACK <= start:
        return False
    return end is None or hour - _SLACK < end


def _read_file(path: Path, opts: _Options, inputs: _Columns, outputs: _Columns,
               counts: dict[str, int]) -> Iterator[LineError]:
    """Add the file's rows in the window; yield an error for each unreadable line."""
    where = str(path)
    number = 0
    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")) as fh:
            for number, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    moment, rows_in, rows_out = _record(raw, opts)
                except _BadLine as exc:
                    yield LineError(path=where, line=number, message=str(exc))
                    continue
                if moment is _OUTSIDE:
                    counts["outside"] += 1
                    continue
                counts["records"] += 1
                for i in range(max(len(rows_in), len(rows_out))):
                    inputs.add(rows_in[i] if rows_in else {})
                    outputs.add(rows_out[i] if rows_out else {})
    except (OSError, EOFError, zlib.error) as exc:
        yield LineError(path=where, line=number + 1,
                        message=f"cannot read the rest of the file: {exc}")



def _record(raw: bytes, opts: _Options) -> tuple[datetime | None, list[Row], list[Row]]:
    """Parse one line; return its time (or ``_OUTSIDE``) and its input and output rows."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _BadLine("the line is not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _BadLine(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(doc, dict):
        raise _BadLine(f"expected a JSON object, got {_kind(doc)}")
    if opts.fmt == "sagemaker":
        return _sagemaker(doc, opts)
    return _native(doc, opts)


def _native(doc: dict[str, object], opts: _Options
            ) -> tuple[datetime | None, list[Row], list[Row]]:
    raw_time = doc.get(opts.time_field)
    moment = None if raw_time is None else _parse_time(raw_time, opts.time_field)
    if not opts.in_window(moment):
        return _OUTSIDE, [], []
    if "inputs" in doc or "outputs" in doc:
        ins, outs = doc.get("inputs", {}), doc.get("outputs", {})
        if not isinstance(ins, dict) or not isinstance(outs, dict):
            raise _BadLine(f'"inputs" and "outputs" must be objects, got {_kind(ins)} '
                           f"and {_kind(outs)}")
        return moment, [_flatten(ins, opts.drop)], [_flatten(outs, opts.drop)]
    out_names = set(opts.output_columns or ())
    row_in = {k: v for k, v in doc.items() if k != opts.time_field and k not in out_names}
    row_out = {k: v for k, v in doc.items() if k in out_names}
    return moment, [_flatten(row_in, opts.drop)], [_flatten(row_out, opts.drop)]


def _sagemaker(doc: dict[str, object], opts: _Options
               ) -> tuple[datetime | None, list[Row], list[Row]]:
    data = doc.get("captureData")
    if not isinstance(data, dict):
        raise _BadLine("not a SageMaker capture record: no captureData object")
    meta = doc.get("eventMetadata", {})
    if not isinstance(meta, dict):
        raise _BadLine(f"eventMetadata must be an object, got {_kind(meta)}")
    raw_time = meta.get("inferenceTime")
    moment = None if raw_time is None else _parse_time(raw_time, "eventMetadata.inferenceTime")
    if not opts.in_window(moment):
        return _OUTSIDE, [], []
    rows_in: list[Row] = []
    if "endpointInput" in data:
        rows_in = _body(data["endpointInput"], "endpointInput", opts.columns, opts.drop, 0)
    rows_out: list[Row] = []
    if "endpointOutput" in data:
        rows_out = _body(data["endpointOutput"], "endpointOutput", opts.output_columns,
                         opts.drop, len(rows_in))
    if rows_in and rows_out and len(rows_in) != len(rows_out):
        raise _BadLine(f"the request has {len(rows_in)} rows but the response has "
                       f"{len(rows_out)}; rows cannot be paired")
    return moment, rows_in, rows_out


def _parse_time(value: object, key: str) -> datetime:
    """Return an aware datetime from RFC 3339 text or epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise _BadLine(f"{key}: {value!r} is not a valid epoch time in seconds") from None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _BadLine(f"{key}: bad timestamp {value[:40]!r}; write RFC 3339 "
                           "(2026-01-05T10:00:00Z) or epoch seconds") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    raise _BadLine(f"{key}: expected RFC 3339 text or epoch seconds, got {_kind(value)}")


def _body(part: object, where: str, names: Sequence[str] | None, drop: frozenset[str],
          expected: int) -> list[Row]:
    """Decode one ``endpointInput``/``endpointOutput`` into rows."""
    if not isinstance(part, dict):
        raise _BadLine(f"captureData.{where} must be an object, got {_kind(part)}")
    data, encoding = part.get("data"), str(part.get("encoding", "")).upper()
    content_type = str(part.get("observedContentType", "")).lower()
    if not isinstance(data, str):
        raise _BadLine(f"captureData.{where}.data must be a string, got {_kind(data)}")
    if encoding == "BASE64":
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _BadLine(f"captureData.{where}.data is not valid base64 of UTF-8 "
                           "text") from None
        kind = _content_kind(content_type)
        if kind is None:
            raise _BadLine(f"captureData.{where}: content type {content_type!r} is not CSV "
                           "or JSON; only tabular bodies can be profiled")
    elif encoding == "CSV":
        text, kind = data, "csv"
    elif encoding == "JSON":
        text, kind = data, "jsonlines" if _content_kind(content_type) == "jsonlines" else "json"
    else:
        raise _BadLine(f"captureData.{where}.encoding {encoding!r} is not CSV, JSON or BASE64")
    if kind == "csv":
        return [_positional(values, names, drop, nested=False) for values in _csv_rows(text)]
    try:
        docs = ([json.loads(line) for line in text.splitlines() if line.strip()]
                if kind == "jsonlines" else [json.loads(text)])
    except json.JSONDecodeError as exc:
        raise _BadLine(f"captureData.{where}.data is not JSON: {exc.msg}") from None
    rows: list[Row] = []
    for doc in docs:
        rows.extend(_json_rows(doc, names, drop, expected if len(docs) == 1 else 0))
    return rows


def _content_kind(content_type: str) -> str | None:
    if "csv" in content_type:
        return "csv"
    if "jsonlines" in content_type or "ndjson" in content_type or "jsonl" in content_type:
        return "jsonlines"
    if "json" in content_type:
        return "json"
    return None


def _csv_rows(text: str) -> list[list[object]]:
    cell = _cell
    return [[cell(c) for c in row] for row in csv.reader(io.StringIO(text)) if row]


def _cell(text: str) -> object:
    """Return a CSV cell as int, float, ``None`` (empty) or the text itself."""
    try:
        number = float(text)
    except ValueError:
        return text if text.strip() else None
    if "_" in text:
        return text  # float() reads "1_000"; a CSV writer never means that
    if text.isdigit() or (text[:1] in "+-" and text[1:].isdigit()):
        return int(text)
    return number


def _json_rows(doc: object, names: Sequence[str] | None, drop: frozenset[str],
               expected: int) -> list[Row]:
    """Return the rows of one JSON body (see the module docstring for the shapes)."""
    if isinstance(doc, dict):
        for key in ("instances", "predictions"):
            if isinstance(doc.get(key), list):
                return [_item(i, names, drop) for i in doc[key]]
        features = doc.get("features")
        if isinstance(features, list):
            if all(_scalar(v) for v in features):
                return [_positional(features, names, drop)]
            return [_item(i, names, drop) for i in features]
        inputs = doc.get("inputs")
        if isinstance(inputs, list):
            return [_item(i, names, drop) for i in inputs]
        if isinstance(inputs, dict) and inputs and all(isinstance(v, list)
                                                       for v in inputs.values()):
            return _columnar(inputs, drop)
        return [_flatten(doc, drop)]
    if isinstance(doc, list):
        if all(_scalar(v) for v in doc):
            if expected > 1 and len(doc) == expected:
                return [_positional([v], names, drop) for v in doc]
            return [_positional(doc, names, drop)]
        return [_item(i, names, drop) for i in doc]
    return [_positional([doc], names, drop)]


def _item(item: object, names: Sequence[str] | None, drop: frozenset[str]) -> Row:
    if isinstance(item, dict):
        features = item.get("features")
        if len(item) == 1 and isinstance(features, list):
            return _positional(features, names, drop)
        return _flatten(item, drop)
    if isinstance(item, list):
        return _positional(item, names, drop)
    return _positional([item], names, drop)


def _columnar(columns: dict[str, object], drop: frozenset[str]) -> list[Row]:
    lengths = {len(v) for v in columns.values() if isinstance(v, list)}
    if len(lengths) != 1:
        raise _BadLine(f'"inputs" columns differ in length: {sorted(lengths)}')
    count = lengths.pop()
    return [_flatten({k: v[i] for k, v in columns.items() if isinstance(v, list)}, drop)
            for i in range(count)]


def _positional(values: Sequence[object], names: Sequence[str] | None,
                drop: frozenset[str], *, nested: bool = True) -> Row:
    if names is None:
        names = _default_names(len(values))
    elif len(values) != len(names):
        raise _BadLine(f"a row has {len(values)} values but {len(names)} column names "
                       "were given; set columns to match the model's inputs")
    row = dict(zip(names, values, strict=True))
    for name in drop.intersection(row):
        del row[name]
    if nested:
        for name, value in row.items():
            if isinstance(value, list | dict):
                row[name] = _value(value)
    return row


@functools.lru_cache(maxsize=64)
def _default_names(count: int) -> tuple[str, ...]:
    return tuple(f"_c{i}" for i in range(count))


def _flatten(obj: Mapping[str, object], drop: frozenset[str], prefix: str = "") -> Row:
    """Return *obj* with nested objects as dotted names, dropped fields never copied."""
    out: Row = {}
    for key, value in obj.items():
        name = prefix + str(key)
        if name in drop:
            continue
        if isinstance(value, dict):
            out.update(_flatten(value, drop, name + "."))
        else:
            out[name] = _value(value)
    return out


def _value(value: object) -> object:
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return value


def _scalar(value: object) -> bool:
    return not isinstance(value, list | dict)


def _kind(value: object) -> str:
    """Name a JSON value's type, never its content."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number" if math.isfinite(value) else "a non-finite number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a value"
