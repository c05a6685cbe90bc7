"""Structured audit lines for sign-in, failure, lockout and sign-out.

One JSON object per line on the ``central_analytics.audit`` logger (stderr by default, which
ECS ships to CloudWatch Logs, where Logs Insights can filter on ``event`` and ``outcome``).
The function takes named fields only — there is no parameter a password could travel through,
and free text is cut short and stripped of control characters so a crafted username cannot
forge a second line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

LOGGER_NAME = "central_analytics.audit"
EVENTS = ("sign_in", "sign_out", "lockout")
OUTCOMES = ("success", "failure", "locked", "denied", "error")
METHODS = ("password", "cookie", "sso", "session")
_MAX_FIELD = 128

log = logging.getLogger(LOGGER_NAME)


def _setup() -> None:
    """Make INFO lines visible under ``streamlit run`` (whose root logger has no handler)."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not any(getattr(h, "_audit", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        # a marker attribute, not a subclass, so it is still recognised after a module reload
        handler._audit = True  # type: ignore[attr-defined]  # ad-hoc marker on a stdlib handler
        log.addHandler(handler)


def _clean(value: str) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text[:_MAX_FIELD]


def audit(event: str, *, user: str, outcome: str, method: str = "password",
          detail: str = "", now: datetime | None = None) -> dict[str, str]:
    """Log one audit record and return it (tests read the dict, operators the line)."""
    if event not in EVENTS or outcome not in OUTCOMES or method not in METHODS:
        raise ValueError(f"bad audit record: {event=} {outcome=} {method=}")
    record = {
        "ts": (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"),
        "audit": "auth",
        "event": event,
        "outcome": outcome,
        "user": _clean(user),
        "method": method,
    }
    if detail:
        record["detail"] = _clean(detail)
    _setup()
    log.info(json.dumps(record, ensure_ascii=True, sort_keys=False))
    return record
