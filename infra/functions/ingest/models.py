"""Request parsing and validation for the ingest endpoint (pydantic v2, Powertools parser style).

Why so strict: a metric that CloudWatch would silently drop (bad unit, non-ASCII dimension,
timestamp outside its window) must be refused *here*, with the item index and field, because the
caller is gone by the time anyone notices a hole in a chart. The rules mirror CloudWatch's own
(PutMetricData / EMF limits) so the DynamoDB copy and the EMF copy never disagree.

Two error classes, because the contract answers them differently:
* :class:`ShapeError` -- the body is not JSON or not the expected envelope -> HTTP 400;
* :class:`FieldError` list from :func:`validate_metrics` -- rule violations -> HTTP 422.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

MAX_BODY_BYTES = 262_144  # 256 KB
MAX_BATCH = 100
MAX_DIMENSIONS = 30  # CloudWatch's limit per metric
MAX_DIM_TEXT = 255
MAX_ABS_VALUE = 2.0**360  # CloudWatch rejects larger magnitudes ...
MIN_ABS_VALUE = 2.0**-260  # ... and non-zero values smaller than this
MAX_AGE_MS = 14 * 86_400_000  # CloudWatch drops EMF/PutMetricData older than 14 days
MAX_AHEAD_MS = 5 * 60_000
METRIC_NAME_RE = re.compile(r"[A-Za-z0-9_.:/#-]{1,255}")
PRINTABLE_ASCII_RE = re.compile(r"[\x20-\x7e]+")
#: Keys an EMF log line already uses at its root; a dimension with that name would corrupt it.
RESERVED_DIMENSION_NAMES = frozenset({"_aws"})
UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
        "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
        "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
        "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem, located: ``index`` is the item's position in the request (None = envelope)."""

    index: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form used in every error body."""
        return {"index": self.index, "field": self.field, "message": self.message}


class ShapeError(ValueError):
    """The body is not JSON, or not a metric / ``{"metrics": [...]}`` envelope (-> 400)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.error = FieldError(index=None, field=field, message=message)


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What validation needs beyond the payload: passed as pydantic's validation context."""

    allowed_apps: frozenset[str]
    now_ms: int


def _ctx(info: ValidationInfo) -> ValidationContext:
    if not isinstance(info.context, ValidationContext):  # a programming error, not client input
        raise TypeError("validate with context=ValidationContext(...)")
    return info.context


def _dimension_text(text: str, what: str) -> str:
    if len(text) > MAX_DIM_TEXT:
        raise ValueError(f"{what} is longer than {MAX_DIM_TEXT} characters")
    if not text.strip():
        raise ValueError(f"{what} must contain a non-whitespace character")
    if not PRINTABLE_ASCII_RE.fullmatch(text):
        raise ValueError(f"{what} must be printable ASCII (CloudWatch refuses anything else)")
    return text


class Dimension(BaseModel):
    """A CloudWatch dimension: printable ASCII, 1-255 characters, not only whitespace."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    name: str
    value: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        _dimension_text(v, "dimension name")
        if v.startswith(":"):
            raise ValueError("dimension name must not start with ':'")
        if v in RESERVED_DIMENSION_NAMES:
            raise ValueError(f"dimension name {v!r} is reserved by the embedded metric format")
        return v

    @field_validator("value")
    @classmethod
    def _value(cls, v: str) -> str:
        return _dimension_text(v, "dimension value")


class MetricIn(BaseModel):
    """One datapoint as posted. After validation ``timestamp`` is epoch ms or None (= now)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    applicationId: str
    metricName: str
    value: float
    unit: str | None = None
    dimensions: list[Dimension] | None = None
    timestamp: int | None = None

    @field_validator("applicationId")
    @classmethod
    def _app(cls, v: str, info: ValidationInfo) -> str:
        if v not in _ctx(info).allowed_apps:
            raise ValueError(f"unknown applicationId {v[:64]!r}")
        return v

    @field_validator("metricName")
    @classmethod
    def _name(cls, v: str) -> str:
        if not METRIC_NAME_RE.fullmatch(v):
            raise ValueError("must be 1-255 characters of A-Z a-z 0-9 _ . : / # -")
        return v

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError("must be a number")
        if isinstance(v, int):  # compare exactly: float() of a huge int would overflow
            if abs(v) > 2**360:
                raise ValueError("magnitude exceeds 2^360")
            return float(v)
        if not math.isfinite(v):
            raise ValueError("must be finite (no NaN or Infinity)")
        if abs(v) > MAX_ABS_VALUE:
            raise ValueError("magnitude exceeds 2^360")
        if v != 0 and abs(v) < MIN_ABS_VALUE:
            raise ValueError("non-zero magnitude below 2^-260")
        return v + 0.0  # folds -0.0 into 0.0

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str | None) -> str | None:
        if v is not None and v not in UNITS:
            raise ValueError(f"unknown unit {v[:40]!r}; use a CloudWatch unit name such as Count")
        return v

    @field_validator("dimensions")
    @classmethod
    def _dims(cls, v: list[Dimension] | None, info: ValidationInfo) -> list[Dimension] | None:
        if v is None:
            return v
        if len(v) > MAX_DIMENSIONS:
            raise ValueError(f"at most {MAX_DIMENSIONS} dimensions")
        names = [d.name for d in v]
        if len(set(names)) != len(names):
            raise ValueError("dimension names must be unique")
        if info.data.get("metricName") in names:  # EMF puts both at the root of one JSON object
            raise ValueError("a dimension must not have the metric's name")
        return v

    @field_validator("timestamp", mode="before")
    @classmethod
    def _ts(cls, v: Any, info: ValidationInfo) -> int | None:
        if v is None:
            return None
        ms = _timestamp_ms(v)
        now = _ctx(info).now_ms
        if ms < now - MAX_AGE_MS:
            raise ValueError("older than 14 days (epoch milliseconds expected, not seconds)")
        if ms > now + MAX_AHEAD_MS:
            raise ValueError("more than 5 minutes in the future")
        return ms

    def dimension_pairs(self) -> list[tuple[str, str]]:
        """Dimensions as (name, value) pairs."""
        return [(d.name, d.value) for d in self.dimensions or ()]


def _timestamp_ms(v: Any) -> int:
    """ISO-8601 string (naive = UTC) or integer epoch milliseconds -> epoch milliseconds."""
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise ValueError("must be an ISO-8601 string or integer epoch milliseconds")
    if isinstance(v, int):
        return v
    try:
        when = datetime.fromisoformat(v)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return (when - _EPOCH) // _MS
    except (ValueError, OverflowError):
        raise ValueError("not an ISO-8601 date-time (e.g. 2026-11-24T12:00:00Z)") from None


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (json.loads would silently keep the last)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def parse_body(body: bytes) -> list[Any]:
    """Decode the JSON body into the list of raw items (a single metric becomes a list of one).

    Raises :class:`ShapeError` for anything that is not a metric object or a
    ``{"metrics": [1..100 items]}`` envelope. Items themselves are not checked here.
    """
    if not body.strip():
        raise ShapeError("empty body; send a JSON object")
    if body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise ShapeError("the body starts with a byte order mark; send UTF-8 without one")
    try:
        # Decoded here, strictly: json.loads(bytes) would guess UTF-16/32 and accept them.
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ShapeError("malformed JSON: the body is not UTF-8 text") from None
    try:
        payload = json.loads(text, object_pairs_hook=_unique_keys)
    except DuplicateKeyError as exc:
        raise ShapeError(f"duplicate key {exc.key[:64]!r} in a JSON object", field=exc.key[:64]
                         ) from None
    except json.JSONDecodeError as exc:
        raise ShapeError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError:  # an integer literal longer than Python's 4300-digit conversion limit
        raise ShapeError("malformed JSON: a number literal is too long") from None
    except RecursionError:
        raise ShapeError("malformed JSON: nested too deeply") from None
    if not isinstance(payload, dict):
        raise ShapeError('body must be a JSON object: one metric or {"metrics": [...]}')
    if "metrics" not in payload:
        return [payload]
    extra = sorted(k for k in payload if k != "metrics")
    if extra:
        raise ShapeError(f"unknown field in batch envelope: {extra[0][:64]!r}", field=extra[0])
    items = payload["metrics"]
    if not isinstance(items, list):
        raise ShapeError("'metrics' must be a list", field="metrics")
    if not items:
        raise ShapeError("'metrics' is empty", field="metrics")
    if len(items) > MAX_BATCH:
        raise ShapeError(f"'metrics' holds {len(items)} items; at most {MAX_BATCH}", "metrics")
    return items


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "model_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "float_type": "must be a number",
    "int_type": "must be an integer",
}


def _field_name(loc: tuple[int | str, ...]) -> str | None:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _field_errors(index: int, exc: ValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        message = _MESSAGES.get(err["type"]) or str(err["msg"]).removeprefix("Value error, ")
        errors.append(FieldError(index=index, field=_field_name(err["loc"]), message=message))
    return errors


def validate_metrics(
    raw_items: list[Any], *, allowed_apps: frozenset[str], now_ms: int
) -> tuple[list[MetricIn], list[FieldError]]:
    """Validate every item, collecting every error (so the caller fixes all of them at once).

    Returns the valid metrics (same positions as ``raw_items`` when there is no error) and the
    errors. The caller must write nothing when the error list is not empty.
    """
    context = ValidationContext(allowed_apps=allowed_apps, now_ms=now_ms)
    valid: list[MetricIn] = []
    errors: list[FieldError] = []
    for index, raw in enumerate(raw_items):
        try:
            valid.append(MetricIn.model_validate(raw, context=context))
        except ValidationError as exc:
            errors.extend(_field_errors(index, exc))
    return valid, errors
