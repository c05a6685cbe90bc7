"""The shared cache's wire format: tagged JSON, with DataFrames as Arrow IPC.

Whoever can write to the cache tier must not be able to run code in the dashboard, so nothing
read back is unpickled. A value is JSON; what JSON lacks is tagged: tuples, sets, non-string
dict keys, dates, numpy scalars, DataFrames and Series (Arrow IPC, base64, with their
``attrs``; an index's ``freq`` is not kept), and the project's own dataclasses and enums. Those
are rebuilt only from classes of ``analytics.`` modules *already imported* by this process
(never imported on a payload's say-so), through their ordinary constructors. What cannot be
encoded raises :class:`Unencodable`: that value stays in the process (L1) only.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import sys
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

#: Bumped whenever the format changes, so tasks of two releases never read each other's bytes.
FORMAT = 1
_TAG = "__t"
_OWN = "analytics."


class Unencodable(TypeError):
    """The value holds something the wire format does not carry (kept in L1 only)."""


class Undecodable(ValueError):
    """The bytes are not a value this process can rebuild (treated as a miss)."""


def encode(value: Any) -> bytes:
    return json.dumps({"f": FORMAT, "v": _enc(value)}, separators=(",", ":"),
                      allow_nan=True).encode("utf-8")


def decode(raw: bytes) -> Any:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Undecodable(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("f") != FORMAT:
        raise Undecodable("another wire format")
    try:
        return _dec(doc["v"])
    except Undecodable:
        raise
    except (KeyError, TypeError, ValueError, pa.ArrowException) as exc:
        raise Undecodable(f"{type(exc).__name__}: {exc}") from None


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _own_class(path: str) -> type:
    """A class of an already-imported ``analytics.`` module; nothing is imported for it."""
    module, _, qualname = path.partition(":")
    if not module.startswith(_OWN) or module not in sys.modules:
        raise Undecodable(f"class {path!r} is not one this process may rebuild")
    obj: Any = sys.modules[module]
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        raise Undecodable(f"class {path!r} not found")
    return obj


def _enc(v: Any) -> Any:
    if isinstance(v, enum.Enum):
        if not type(v).__module__.startswith(_OWN):
            raise Unencodable(f"enum {type(v).__name__} is not the project's")
        return {_TAG: "enum", "c": _class_path(type(v)), "v": _enc(v.value)}
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, int | float):
        return {_TAG: "int", "v": int(v)} if isinstance(v, int) and type(v) is not int else v
    if isinstance(v, np.generic):
        return _enc(v.item())
    if isinstance(v, pd.Timestamp):
        return {_TAG: "ts", "v": v.isoformat()}
    if isinstance(v, datetime):
        return {_TAG: "dt", "v": v.isoformat()}
    if isinstance(v, date):
        return {_TAG: "d", "v": v.isoformat()}
    if isinstance(v, timedelta):
        return {_TAG: "td", "v": v.total_seconds()}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, tuple):
        return {_TAG: "tuple", "v": [_enc(x) for x in v]}
    if isinstance(v, frozenset | set):
        items = sorted((_enc(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
        return {_TAG: "frozenset" if isinstance(v, frozenset) else "set", "v": items}
    if isinstance(v, dict):
        return {_TAG: "dict", "v": [[_enc(k), _enc(x)] for k, x in v.items()]}
    if isinstance(v, pd.DataFrame):
        return _enc_frame(v)
    if isinstance(v, pd.Series):  # a one-column frame, its name beside it
        body = _enc_frame(v.to_frame(name="values"))
        return {**body, _TAG: "series", "name": _enc(v.name), "attrs": _enc(dict(v.attrs))}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        if not type(v).__module__.startswith(_OWN):
            raise Unencodable(f"dataclass {type(v).__name__} is not the project's")
        fields = {f.name: _enc(getattr(v, f.name)) for f in dataclasses.fields(v) if f.init}
        return {_TAG: "dc", "c": _class_path(type(v)), "v": fields}
    raise Unencodable(f"{type(v).__module__}.{type(v).__qualname__} has no wire format")


def _enc_frame(frame: pd.DataFrame) -> dict[str, Any]:
    try:
        table = pa.Table.from_pandas(frame, preserve_index=True)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise Unencodable(f"DataFrame not representable in Arrow: {exc}") from None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return {_TAG: "df", "v": base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii"),
            "attrs": _enc(dict(frame.attrs))}


def _dec(v: Any) -> Any:
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if not isinstance(v, dict):
        return v
    tag, body = v[_TAG], v["v"]
    if tag == "tuple":
        return tuple(_dec(x) for x in body)
    if tag in ("set", "frozenset"):
        items = [_dec(x) for x in body]
        return set(items) if tag == "set" else frozenset(items)
    if tag == "dict":
        return {_dec(k): _dec(x) for k, x in body}
    if tag == "int":
        return int(body)
    if tag == "ts":
        return pd.Timestamp(body)
    if tag == "dt":
        return datetime.fromisoformat(body)
    if tag == "d":
        return date.fromisoformat(body)
    if tag == "td":
        return timedelta(seconds=float(body))
    if tag == "df":
        return _dec_frame(body, v.get("attrs"))
    if tag == "series":
        series = _dec_frame(body, None)["values"].rename(_dec(v["name"]))
        series.attrs.update(_dec(v["attrs"]))
        return series
    if tag == "enum":
        cls = _own_class(v["c"])
        if not issubclass(cls, enum.Enum):
            raise Undecodable(f"{v['c']} is not an enum")
        return cls(_dec(body))
    if tag == "dc":
        cls = _own_class(v["c"])
        if not dataclasses.is_dataclass(cls):
            raise Undecodable(f"{v['c']} is not a dataclass")
        return cls(**{str(k): _dec(x) for k, x in body.items()})
    raise Undecodable(f"unknown tag {tag!r}")


def _dec_frame(body: str, attrs: Any) -> pd.DataFrame:
    with pa.ipc.open_stream(pa.py_buffer(base64.b64decode(body))) as reader:
        frame = reader.read_all().to_pandas()
    if attrs is not None:
        frame.attrs.update(_dec(attrs))
    return frame


def key_text(key: Any) -> str:
    """A cache key as canonical text (the same key gives the same text in every process).

    Raises :class:`Unencodable` for a key that has no such text (then it stays in L1 only).
    """
    return json.dumps(_enc(key), separators=(",", ":"), sort_keys=True)
