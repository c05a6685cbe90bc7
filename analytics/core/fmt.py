"""Number and time formatting shared by pages, summaries and reports (pure, no streamlit)."""

from __future__ import annotations

import time


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


def age(seconds: float) -> str:
    """``75`` -> ``"1 min 15 s"``."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {(s % 3600) // 60} min"


def clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def one_line(message: str, limit: int = 240) -> str:
    """An error message fit for a page: one line, bounded, never an HTML error page's markup."""
    head, sep, _ = message.partition("<")
    if sep and ("<html" in message.lower() or "<!doctype" in message.lower()):
        message = f"{head.strip()} (an HTML error page: does the endpoint implement this?)"
    line = " ".join(message.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"
