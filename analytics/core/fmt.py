"""Number and time formatting shared by pages, summaries and reports (pure, no streamlit).

Times are stored and computed in UTC and only turned into the viewer's zone here, at the last
step, always with the zone's name beside them: a bare "14:00" on a shared screen is a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def human(value: float | None, unit: str = "") -> str:
    """``1234567`` -> ``"1.23M"``, ``12.3456, "%"`` -> ``"12.35%"``; None or NaN -> ``"n/a"``."""
    if value is None or value != value:
        return "n/a"
    if unit == "%":
        return f"{value:.2f}%"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "$":
        return f"${value:,.2f}"
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.2f}{suffix}{unit}"
    return f"{value:,.0f}{unit}" if float(value).is_integer() else f"{value:,.2f}{unit}"


Direction = Literal["up", "down", "flat"]


def change(pct: float | None, against: str) -> tuple[str, Direction] | None:
    """``(+3.21, "previous")`` -> ``("+3.2% vs previous", "up")``; a change that rounds to
    zero is ``"no change vs …"``, flat (never a red "+0.0%" or a "-0.0%")."""
    if pct is None or pct != pct:
        return None
    shown = round(pct, 1)
    if shown == 0:
        return f"no change vs {against}", "flat"
    return f"{shown:+.1f}% vs {against}", "up" if shown > 0 else "down"


def age(seconds: float) -> str:
    """``75`` -> ``"1 min 15 s"``."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {(s % 3600) // 60} min"


# -- time zones --------------------------------------------------------------------------------

def zone(name: str | None) -> tzinfo:
    """The zone named by an IANA name (a browser's), UTC when absent or unknown."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone_name(tz: tzinfo) -> str:
    """``"Europe/Berlin"``, ``"UTC"``: the name every caption shows beside its times."""
    if tz is UTC:
        return "UTC"
    key = getattr(tz, "key", None)
    return "UTC" if key in (None, "UTC", "Etc/UTC") else str(key)


def local(ts: datetime, tz: tzinfo) -> datetime:
    """An aware time in ``tz`` (naive input is taken as UTC)."""
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    return ts.astimezone(tz)


def when(ts: datetime, tz: tzinfo = UTC, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """``ts`` in ``tz`` without the zone's name (for a caption that names it once)."""
    return local(ts, tz).strftime(pattern)


def span_text(start: datetime, end: datetime, tz: tzinfo = UTC) -> str:
    """``"2026-11-30 14:51 → 17:51 UTC"`` (the end's date only when it differs)."""
    a, b = local(start, tz), local(end, tz)
    tail = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%Y-%m-%d %H:%M")
    return f"{a:%Y-%m-%d %H:%M} → {tail} {zone_name(tz)}"


def clock(epoch: float, tz: tzinfo = UTC) -> str:
    """``"2026-11-30 17:52:15 UTC"``: an instant with seconds and the zone's name."""
    return f"{datetime.fromtimestamp(epoch, tz):%Y-%m-%d %H:%M:%S} {zone_name(tz)}"


def one_line(message: str, limit: int = 240) -> str:
    """An error message fit for a page: one line, bounded, never an HTML error page's markup."""
    head, sep, _ = message.partition("<")
    if sep and ("<html" in message.lower() or "<!doctype" in message.lower()):
        message = f"{head.strip()} (an HTML error page: does the endpoint implement this?)"
    line = " ".join(message.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"
