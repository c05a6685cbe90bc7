"""Who may write which app, and how many series an app may have: the ingest's two limits.

Authorization: an :data:`Authorizer` turns a request into the set of apps its credential may
write (``None``: no valid credential, 401). On AWS the HTTP API's IAM authorizer has already
checked the SigV4 signature; :func:`iam_authorizer` maps the caller's ARN to apps from the
catalog's ``ingest_principals``. Locally, :func:`bearer_authorizer` maps a bearer token.

Cardinality: every distinct metric name, and every distinct dimension set of a metric, is a
series (on AWS a billed custom metric, on the Realtime page a chart or a line). A
:class:`SeriesRegistry` admits a batch only if the app stays within its :class:`Caps` over the
retention window; a batch that would pass a cap is refused whole, naming the cap.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Authorizer answer meaning "every app" (a local operator token, an unchecked dev setup).
EVERY_APP = frozenset({"*"})
Authorizer = Callable[[Mapping[str, Any]], frozenset[str] | None]

DEFAULT_MAX_NAMES = 200
DEFAULT_MAX_DIMENSION_SETS = 100


# -- authorization ------------------------------------------------------------------------------
def caller_arn(event: Mapping[str, Any]) -> str | None:
    """``requestContext.authorizer.iam.userArn`` (set only by API Gateway's IAM authorizer)."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    iam = authorizer.get("iam") if isinstance(authorizer, Mapping) else None
    arn = iam.get("userArn") if isinstance(iam, Mapping) else None
    return arn if isinstance(arn, str) and arn else None


def arn_matches(arn: str, pattern: str) -> bool:
    """Exact or glob match; an IAM role ARN also matches that role's STS sessions (the read
    API's IAM callers are matched by this same rule)."""
    if fnmatch.fnmatchcase(arn, pattern):
        return True
    head, sep, role = pattern.partition(":role/")
    if sep and head.startswith("arn:") and ":iam::" in head:
        sts = head.replace(":iam::", ":sts::", 1) + ":assumed-role/" + role.rsplit("/", 1)[-1]
        return arn.startswith(sts + "/")
    return False


def iam_authorizer(principals: Mapping[str, Iterable[str]]) -> Authorizer:
    """Apps the signed caller may write: those listing its ARN in ``ingest_principals``."""
    table = {app: tuple(p) for app, p in principals.items()}

    def authorize(event: Mapping[str, Any]) -> frozenset[str] | None:
        arn = caller_arn(event)
        if arn is None:
            return None
        return frozenset(app for app, pats in table.items()
                         if any(arn_matches(arn, p) for p in pats))

    return authorize


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(headers: Mapping[str, str]) -> str | None:
    got = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = got.strip().partition(" ")
    return token.strip() if scheme == "Bearer" and token.strip() else None


def bearer_authorizer(lookup: Callable[[], Mapping[str, frozenset[str]]]) -> Authorizer:
    """Apps of the bearer token: ``lookup()`` maps token SHA-256 digests to apps (re-read on
    every request, so a rotated token stops working at once). Digests are compared in constant
    time against every entry, so timing says nothing about which token was close."""

    def authorize(event: Mapping[str, Any]) -> frozenset[str] | None:
        token = bearer_token(event.get("headers") or {})
        if token is None:
            return None
        digest = token_digest(token).encode()
        found: frozenset[str] | None = None
        for known, apps in lookup().items():
            if hmac.compare_digest(digest, known.encode()):
                found = apps
        return found

    return authorize


# -- cardinality --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caps:
    max_names: int = DEFAULT_MAX_NAMES
    max_dimension_sets: int = DEFAULT_MAX_DIMENSION_SETS


@dataclass(frozen=True)
class CapExceeded:
    app: str
    cap: str  # "max_metric_names" | "max_dimension_sets" (the catalog keys)
    limit: int
    would_have: int
    metric: str | None = None

    def message(self) -> str:
        what = (f"distinct metric names of {self.app!r}" if self.metric is None
                else f"distinct dimension sets of {self.app}/{self.metric}")
        return (f"refused: this batch would make {self.would_have} {what}, over the cap "
                f"{self.cap}={self.limit} (apps.toml); nothing was written")


#: app -> metric name -> canonical dimension strings of one batch.
BatchSeries = Mapping[str, Mapping[str, frozenset[str]]]


class SeriesRegistry(Protocol):
    """Counts an app's live series (within the retention window) and admits new ones.

    ``admit`` must be atomic with the write that follows it for callers of one process
    (the resolver holds no lock of its own), and must register what it admits.
    """

    def admit(self, batch: BatchSeries, *, caps: Mapping[str, Caps], now_ms: int,
              window_ms: int) -> CapExceeded | None: ...


def check_caps(app: str, *, live_names: set[str], live_dims: Mapping[str, set[str]],
               batch: Mapping[str, frozenset[str]], caps: Caps) -> CapExceeded | None:
    """The first cap ``batch`` would pass, given what is already live (pure)."""
    names = live_names | set(batch)
    if len(names) > caps.max_names and len(names) > len(live_names):
        return CapExceeded(app, "max_metric_names", caps.max_names, len(names))
    for metric, dims in sorted(batch.items()):
        have = live_dims.get(metric, set())
        total = have | dims
        if len(total) > caps.max_dimension_sets and len(total) > len(have):
            return CapExceeded(app, "max_dimension_sets", caps.max_dimension_sets, len(total),
                               metric)
    return None


@dataclass
class MemoryRegistry:
    """Series seen by this process, with the time last seen (tests, the in-memory sink)."""

    seen: dict[tuple[str, str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, batch: BatchSeries, *, caps: Mapping[str, Caps], now_ms: int,
              window_ms: int) -> CapExceeded | None:
        with self.lock:
            live = {k for k, t in self.seen.items() if t >= now_ms - window_ms}
            for app, metrics in sorted(batch.items()):
                names = {m for a, m, _ in live if a == app}
                dims: dict[str, set[str]] = {}
                for a, m, d in live:
                    if a == app:
                        dims.setdefault(m, set()).add(d)
                over = check_caps(app, live_names=names, live_dims=dims, batch=metrics,
                                  caps=caps.get(app, Caps()))
                if over:
                    return over
            for app, metrics in batch.items():
                for metric, dim_sets in metrics.items():
                    for d in dim_sets:
                        self.seen[(app, metric, d)] = now_ms
            return None
