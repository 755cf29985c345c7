"""Capture readers: native JSONL and SageMaker data capture, windows, PII, bad lines."""

from __future__ import annotations

import base64
import gzip
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.drift.capture import MAX_ERRORS, CaptureWindow, LineError, read_capture

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _write(path: Path, lines: Sequence[object], *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _sm(data_in: str | None, data_out: str | None = None, *, when: str = "2026-01-05T10:00:00Z",
        enc_in: str = "CSV", enc_out: str = "CSV", ct_in: str = "text/csv",
        ct_out: str = "text/csv") -> dict[str, object]:
    capture: dict[str, object] = {}
    if data_in is not None:
        capture["endpointInput"] = {"observedContentType": ct_in, "mode": "INPUT",
                                    "data": data_in, "encoding": enc_in}
    if data_out is not None:
        capture["endpointOutput"] = {"observedContentType": ct_out, "mode": "OUTPUT",
                                     "data": data_out, "encoding": enc_out}
    return {"captureData": capture,
            "eventMetadata": {"eventId": "4a1b", "inferenceTime": when}, "eventVersion": "0"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- native JSONL ---------------------------------------------------------------------------

def test_native_lines_give_columns_padded_with_none(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [
        {"time": "2026-01-05T10:00:00Z", "inputs": {"age": 41, "plan": "pro"},
         "outputs": {"score": 0.8}},
        {"time": 1767607260, "inputs": {"age": 35, "country": "FR"}, "outputs": {}},
        {"time": "2026-01-05T10:02:00+01:00", "inputs": {"user": {"country": "DE"}}},
    ])
    w = read_capture([path])
    assert w.rows == 3 and w.records == 3 and w.files == 1 and w.errors == ()
    assert w.inputs == {"age": [41, 35, None], "plan": ["pro", None, None],
                        "country": [None, "FR", None], "user.country": [None, None, "DE"]}
    assert w.outputs == {"score": [0.8, None, None]}


def test_flat_lines_with_a_configured_time_field_and_output_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [
        {"ts": "2026-01-05T10:00:00Z", "age": 41, "score": 0.8, "tags": ["a", "b"]},
        {"ts": "2026-01-05T12:00:00Z", "age": 42, "score": 0.1, "tags": []},
    ])
    w = read_capture([path], time_field="ts", output_columns=["score"],
                     start=T0, end=T0 + timedelta(hours=1))
    assert w.rows == 1 and w.outside == 1
    assert w.inputs == {"age": [41], "tags": ['["a","b"]']}
    assert w.outputs == {"score": [0.8]}


def test_window_is_half_open_and_naive_bounds_are_utc(tmp_path: Path) -> None:
    times = [T0 - timedelta(seconds=1), T0, T0 + timedelta(minutes=59), T0 + timedelta(hours=1)]
    path = _write(tmp_path / "c.jsonl", [{"time": t.isoformat(), "inputs": {"i": i}}
                                         for i, t in enumerate(times)])
    w = read_capture([path], start=T0.replace(tzinfo=None),
                     end=(T0 + timedelta(hours=1)).replace(tzinfo=None))
    assert w.inputs == {"i": [1, 2]} and w.outside == 2
    assert w.start == T0 and w.end == T0 + timedelta(hours=1)


def test_epoch_seconds_and_fractional_rfc3339(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [
        {"time": T0.timestamp() + 0.5, "inputs": {"x": 1}},
        {"time": "2026-01-05T10:00:00.123456789Z", "inputs": {"x": 2}},
    ])
    w = read_capture([path], start=T0, end=T0 + timedelta(seconds=1))
    assert w.inputs == {"x": [1, 2]}


def test_gzip_files_and_folders_read_in_name_order(tmp_path: Path) -> None:
    _write(tmp_path / "cap" / "b.jsonl.gz", [{"inputs": {"x": 2}}], gz=True)
    _write(tmp_path / "cap" / "a" / "z.jsonl", [{"inputs": {"x": 1}}])
    _write(tmp_path / "cap" / "c.jsonl", [{"inputs": {"x": 3}}])
    (tmp_path / "cap" / "notes.txt").write_text("not capture")
    w = read_capture([tmp_path / "cap"])
    assert w.inputs == {"x": [1, 2, 3]} and w.files == 3


def test_missing_path_and_bad_arguments_raise(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="capture path .*nope does not exist"):
        read_capture([tmp_path / "nope"])
    with pytest.raises(ValueError, match="unknown capture format 'csv'; use one of jsonl"):
        read_capture([tmp_path], format="csv")
    with pytest.raises(ValueError, match="end .* must be after start"):
        read_capture([tmp_path], start=T0, end=T0)


def test_empty_folder_gives_an_empty_window(tmp_path: Path) -> None:
    w = read_capture([tmp_path])
    assert isinstance(w, CaptureWindow)
    assert (w.rows, w.inputs, w.outputs, w.errors) == (0, {}, {}, ())


# -- PII ------------------------------------------------------------------------------------

def test_pii_fields_are_dropped_everywhere_and_never_quoted(tmp_path: Path) -> None:
    secret = "jane@example.com"
    path = _write(tmp_path / "c.jsonl", [
        {"time": "2026-01-05T10:00:00Z", "inputs": {"email": secret, "age": 3,
                                                    "user": {"email": secret, "cc": "x"}},
         "outputs": {"email": secret, "score": 1}},
        {"time": "2026-01-05T10:00:00Z", "inputs": {"email": secret}, "outputs": secret},
        {"time": "2026-01-05T10:00:00Z", "email": secret},
    ])
    w = read_capture([path], drop_fields=["email", "user.email"])
    assert w.inputs == {"age": [3, None], "user.cc": ["x", None]}
    assert w.outputs == {"score": [1, None]}
    assert len(w.errors) == 1 and secret not in str(w)
    flat = read_capture([path], drop_fields=["email", "user"])
    assert "user.cc" not in flat.inputs and secret not in repr(flat)


def test_pii_columns_dropped_from_sagemaker_csv(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [_sm("41,jane@example.com,pro", "0.7")])
    w = read_capture([path], format="sagemaker", columns=["age", "email", "plan"],
                     output_columns=["score"], drop_fields=["email"])
    assert w.inputs == {"age": [41], "plan": ["pro"]} and w.outputs == {"score": [0.7]}


# -- SageMaker data capture -----------------------------------------------------------------

def test_sagemaker_csv_several_rows_per_record(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [
        _sm("1,2.5,a\n3,,b\n", "0.1\n0.9\n", ct_out="text/csv; charset=utf-8"),
        _sm("5,nan,\"c,d\"", "0.5"),
    ])
    w = read_capture([path], format="sagemaker")
    assert w.rows == 3
    assert w.inputs["_c0"] == [1, 3, 5] and w.inputs["_c2"] == ["a", "b", "c,d"]
    assert w.inputs["_c1"][0] == 2.5 and w.inputs["_c1"][1] is None
    assert math.isnan(w.inputs["_c1"][2])  # type: ignore[arg-type]
    assert w.outputs == {"_c0": [0.1, 0.9, 0.5]}


def test_sagemaker_json_shapes(tmp_path: Path) -> None:
    j = "application/json"
    bodies = [
        json.dumps({"age": 1, "plan": "a"}),                          # flat object
        json.dumps([{"age": 2, "plan": "b"}, {"age": 3}]),           # list of objects
        json.dumps({"instances": [[4, "d"], [5, "e"]]}),              # TF Serving rows
        json.dumps({"instances": [{"features": [6, "f"]}]}),          # SageMaker built-ins
        json.dumps({"features": [7, "g"]}),                           # one positional row
        json.dumps({"inputs": {"age": [8, 9], "plan": ["h", "i"]}}),  # TF Serving columnar
        json.dumps([10, "j"]),                                        # one positional row
    ]
    outs = ["0.1", json.dumps([0.2, 0.3]), json.dumps({"predictions": [0.4, 0.5]}),
            json.dumps({"predictions": [{"score": 0.6}]}), "0.7", json.dumps([0.8, 0.9]),
            json.dumps({"score": 1.0})]
    lines = [_sm(b, o, enc_in="JSON", enc_out="JSON", ct_in=j, ct_out=j)
             for b, o in zip(bodies, outs, strict=True)]
    path = _write(tmp_path / "c.jsonl", lines)
    w = read_capture([path], format="sagemaker", columns=["age", "plan"],
                     output_columns=["score"])
    assert w.errors == ()
    assert w.inputs == {"age": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
                        "plan": ["a", "b", None, "d", "e", "f", "g", "h", "i", "j"]}
    assert w.outputs == {"score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]}


def test_sagemaker_base64_bodies_by_content_type(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [
        _sm(_b64("1,x\n2,y"), _b64('{"predictions": [0.1, 0.2]}'), enc_in="BASE64",
            enc_out="BASE64", ct_out="application/json"),
        _sm(_b64('{"a": 3, "b": "z"}\n{"a": 4, "b": "w"}\n'), None, enc_in="BASE64",
            ct_in="application/jsonlines"),
    ])
    w = read_capture([path], format="sagemaker", columns=["a", "b"])
    assert w.errors == ()
    assert w.inputs == {"a": [1, 2, 3, 4], "b": ["x", "y", "z", "w"]}
    assert w.outputs == {"_c0": [0.1, 0.2, None, None]}


def test_sagemaker_output_only_capture(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [_sm(None, "0.3")])
    w = read_capture([path], format="sagemaker")
    assert w.rows == 1 and w.inputs == {} and w.outputs == {"_c0": [0.3]}


def test_sagemaker_hour_folders_outside_the_window_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "ep" / "AllTraffic"
    for hour in (6, 9, 10, 12):
        when = f"2026-01-05T{hour:02d}:30:00Z"
        _write(root / f"2026/01/05/{hour:02d}" / f"{hour}-x.jsonl", [_sm(str(hour), when=when)])
    (root / "2026/01/05/06" / "6-x.jsonl").write_text("not even json\n")
    w = read_capture([tmp_path / "ep"], format="sagemaker", start=T0,
                     end=T0 + timedelta(hours=1))
    assert w.inputs == {"_c0": [10]}
    assert w.files == 2 and w.outside == 1 and w.errors == ()   # 09 read (slack), 06/12 not


def test_sagemaker_time_window_uses_inference_time(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", [_sm("1", when="2026-01-05T09:59:59Z"),
                                         _sm("2", when="2026-01-05T10:00:00.5Z")])
    w = read_capture([path], format="sagemaker", start=T0)
    assert w.inputs == {"_c0": [2]} and w.outside == 1


# -- bad lines ------------------------------------------------------------------------------

BAD_NATIVE = [
    ("{not json", "not JSON: Expecting property name enclosed in double quotes at column 2"),
    ("[1, 2]", "expected a JSON object, got an array"),
    ('{"time": "yesterday", "inputs": {}}', "time: bad timestamp 'yesterday'; write RFC 3339"),
    ('{"time": true, "inputs": {}}',
     "time: expected RFC 3339 text or epoch seconds, got a boolean"),
    ('{"time": 1e300, "inputs": {}}', "time: 1e+300 is not a valid epoch time in seconds"),
    ('{"time": "2026-01-05T10:00:00Z", "inputs": [1]}', '"inputs" and "outputs" must be objects'),
]


@pytest.mark.parametrize(("line", "message"), BAD_NATIVE, ids=[m[:20] for _, m in BAD_NATIVE])
def test_each_bad_native_line_is_reported_and_reading_goes_on(tmp_path: Path, line: str,
                                                             message: str) -> None:
    path = _write(tmp_path / "c.jsonl", [{"inputs": {"x": 1}}, line, {"inputs": {"x": 2}}])
    w = read_capture([path])
    assert w.inputs == {"x": [1, 2]}
    assert len(w.errors) == 1 and w.error_count == 1
    error = w.errors[0]
    assert (error.path, error.line) == (str(path), 2)
    assert error.message.startswith(message), error.message
    assert str(error) == f"{path}:2: {error.message}"


BAD_SAGEMAKER: list[tuple[object, str]] = [
    ({"eventMetadata": {}}, "not a SageMaker capture record: no captureData object"),
    (_sm("!!!notbase64", enc_in="BASE64"), "captureData.endpointInput.data is not valid base64"),
    (_sm(_b64("\xff"), enc_in="BASE64", ct_in="image/jpeg"),
     "captureData.endpointInput: content type 'image/jpeg' is not CSV or JSON"),
    (_sm("1", enc_in="XML"), "captureData.endpointInput.encoding 'XML' is not CSV, JSON"),
    (_sm("{bad", enc_in="JSON", ct_in="application/json"),
     "captureData.endpointInput.data is not JSON"),
    (_sm("1,2", when="5 Jan"), "eventMetadata.inferenceTime: bad timestamp '5 Jan'"),
    (_sm("1,2\n3,4", "0.1"), "the request has 2 rows but the response has 1"),
    (_sm("1,2,3"), "a row has 3 values but 2 column names were given"),
    ({"captureData": {"endpointInput": {"data": 5, "encoding": "CSV"}}},
     "captureData.endpointInput.data must be a string, got a number"),
    ({"captureData": {"endpointInput": "x"}}, "captureData.endpointInput must be an object"),
    ({"captureData": {}, "eventMetadata": []}, "eventMetadata must be an object"),
]


@pytest.mark.parametrize(("record", "message"), BAD_SAGEMAKER,
                         ids=[m[:24] for _, m in BAD_SAGEMAKER])
def test_each_bad_sagemaker_record_is_reported(tmp_path: Path, record: object,
                                               message: str) -> None:
    path = _write(tmp_path / "c.jsonl", [_sm("1,2"), record, _sm("3,4")])
    w = read_capture([path], format="sagemaker", columns=["a", "b"])
    assert w.inputs == {"a": [1, 3], "b": [2, 4]}
    assert [e.line for e in w.errors] == [2]
    assert w.errors[0].message.startswith(message), w.errors[0].message


def test_not_utf8_blank_lines_and_a_timeless_record_in_a_window(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"inputs": {"x": 1}}\n\n\xff\xfe\n{"inputs": {"x": 2}}\n')
    assert [e.message for e in read_capture([path]).errors] == ["the line is not UTF-8 text"]
    w = read_capture([path], start=T0)
    assert w.rows == 0
    assert [e.line for e in w.errors] == [1, 3, 4]
    assert w.errors[0].message == "the record has no time, so it cannot be placed in the window"


def test_truncated_gzip_is_an_error_and_the_next_file_is_read(tmp_path: Path) -> None:
    good = gzip.compress(b'{"inputs": {"x": 1}}\n' * 2000)
    (tmp_path / "a.jsonl.gz").write_bytes(good[: len(good) // 2])
    _write(tmp_path / "b.jsonl", [{"inputs": {"x": 2}}])
    w = read_capture([tmp_path])
    assert len(w.errors) == 1 and w.errors[0].path.endswith("a.jsonl.gz")
    assert w.errors[0].message.startswith("cannot read the rest of the file")
    assert w.inputs["x"][-1] == 2 and w.rows >= 2


def test_errors_are_capped_but_counted(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", ["nope"] * (MAX_ERRORS + 5))
    w = read_capture([path])
    assert len(w.errors) == MAX_ERRORS and w.error_count == MAX_ERRORS + 5
    assert isinstance(w.errors[0], LineError)
