"""The binary form of a :class:`~monitor.drift.profile.BaselineProfile`.

Layout (all integers little-endian)::

    b"WKPROF\\r\\n"    8-byte magic
    uint32             format version (currently 1)
    uint64             header length in bytes
    header             UTF-8 JSON: rows, source, created_at, features, arrays
    payload            the arrays' raw bytes, back to back (float64 '<f8')

The header lists every array as ``[offset, count]`` into the payload; a feature refers
to its arrays by index, so feature names need no escaping. Floats in the header are
written by ``json`` (``repr`` precision, NaN allowed), so a round trip is exact. The
output is deterministic: the same profile always gives the same bytes.
"""

from __future__ import annotations

import json
import struct
from datetime import datetime
from typing import Any

import numpy as np

from monitor.drift.profile import BaselineProfile, FeatureKind, FeatureProfile
from monitor.drift.sketch import QuantileSketch

__all__ = ["FORMAT_VERSION", "MAGIC", "decode", "encode"]

MAGIC = b"WKPROF\r\n"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")


def encode(profile: BaselineProfile) -> bytes:
    """Return *profile* in the binary form described in the module docstring."""
    arrays: list[np.ndarray] = []

    def put(array: np.ndarray) -> int:
        arrays.append(np.ascontiguousarray(array, dtype="<f8"))
        return len(arrays) - 1

    features: list[dict[str, Any]] = []
    for f in profile.features.values():
        entry: dict[str, Any] = {
            "name": f.name, "kind": f.kind.value, "dtype": f.dtype, "count": f.count,
            "missing": f.missing, "nan": f.nan, "inf": f.inf, "invalid": f.invalid,
            "invalid_examples": list(f.invalid_examples), "minimum": f.minimum,
            "maximum": f.maximum, "mean": f.mean, "std": f.std,
            "categories": [[k, int(v)] for k, v in f.categories.items()]}
        if f.values is not None:
            entry["values"] = put(f.values)
        if f.sketch is not None:
            entry["sketch"] = {"k": f.sketch.k, "error_bound": f.sketch.error_bound,
                               "levels": [put(level) for level in f.sketch.levels]}
        features.append(entry)
    offsets, at = [], 0
    for array in arrays:
        offsets.append([at, int(array.size)])
        at += array.nbytes
    header = json.dumps({
        "rows": profile.rows, "source": profile.source,
        "created_at": profile.created_at.isoformat() if profile.created_at else None,
        "features": features, "arrays": offsets}, separators=(",", ":")).encode("utf-8")
    return b"".join([_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)), header,
                     *(a.tobytes() for a in arrays)])


def decode(data: bytes) -> BaselineProfile:
    """Read bytes written by :func:`encode`; raise ``ValueError`` on anything else."""
    if len(data) < _PREFIX.size or data[:8] != MAGIC:
        raise ValueError("baseline profile: not a Watchkeeper profile (bad magic bytes); "
                         "was it written by BaselineProfile.to_bytes()?")
    _, version, size = _PREFIX.unpack_from(data)
    if version != FORMAT_VERSION:
        raise ValueError(f"baseline profile: format version {version} is not supported "
                         f"(this release reads version {FORMAT_VERSION}); rebuild the baseline")
    start = _PREFIX.size
    try:
        header = json.loads(data[start:start + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"baseline profile: corrupt header ({exc})") from exc
    payload = memoryview(data)[start + size:]

    def get(index: int) -> np.ndarray:
        offset, count = header["arrays"][index]
        if offset + 8 * count > len(payload):
            raise ValueError(f"baseline profile: array {index} runs past the end of the "
                             "data; the profile is truncated")
        return np.frombuffer(payload, dtype="<f8", count=count, offset=offset).astype(
            np.float64)

    features: dict[str, FeatureProfile] = {}
    for f in header["features"]:
        sketch = None
        if "sketch" in f:
            s = f["sketch"]
            sketch = QuantileSketch.from_levels([get(i) for i in s["levels"]], k=s["k"],
                                                error_bound=s["error_bound"])
        features[f["name"]] = FeatureProfile(
            name=f["name"], kind=FeatureKind(f["kind"]), dtype=f["dtype"], count=f["count"],
            missing=f["missing"], nan=f["nan"], inf=f["inf"], invalid=f["invalid"],
            invalid_examples=tuple(f["invalid_examples"]),
            values=get(f["values"]) if "values" in f else None, sketch=sketch,
            minimum=float(f["minimum"]), maximum=float(f["maximum"]), mean=float(f["mean"]),
            std=float(f["std"]), categories={k: int(v) for k, v in f["categories"]})
    created = header["created_at"]
    return BaselineProfile(features=features, rows=int(header["rows"]),
                           source=str(header["source"]),
                           created_at=datetime.fromisoformat(created) if created else None)
