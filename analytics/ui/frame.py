"""The page frame, drawn once by Home.py around whichever page runs: banners above, footer below.

Pages only draw their data. What every page shares — the stale banner at the top, the message
instead of a traceback when a source fails with nothing cached, the footer with "data as of",
the backend and the cache counters — is here, so no page can forget it. A page reports the
provenance of what it drew with :func:`freshness`; a known failure raised by a service ends
the page with its message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import streamlit as st

from analytics.alarms.config import AlarmConfigError
from analytics.core.access import AccessDenied
from analytics.core.cache import STILL_LOADING, StillLoading, UpstreamError
from analytics.core.fmt import age, clock
from analytics.core.notes import collecting
from analytics.core.periods import PeriodError
from analytics.sources import Runtime, get_runtime
from analytics.ui.zone import current_zone


class Fresh(Protocol):
    """Anything a service returns with its provenance (a ``Cached`` or a view).

    Read-only members, so frozen dataclasses (``Cached``, the views) satisfy it.
    """

    @property
    def fetched_at(self) -> float: ...

    @property
    def stale(self) -> bool: ...

    @property
    def error(self) -> str | None: ...


class _Frame:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.banner = st.container()  # above the page: stale warnings
        self.shown: set[tuple[float, str | None]] = set()
        self.as_of: float | None = None  # the oldest fresh value drawn, for the footer


_current: ContextVar[_Frame | None] = ContextVar("page_frame", default=None)


@contextmanager
def page_frame(rt: Runtime, *, deadline_s: float | None = None) -> Iterator[None]:
    """Run a page inside the frame: banner slot first, the page, then the footer.

    ``deadline_s``: how long the page's data reads may take in all (``ANALYTICS_PAGE_DEADLINE_S``).
    """
    frame = _Frame(rt)
    token = _current.set(frame)
    try:
        with rt.cache.deadline(deadline_s), collecting() as notes:
            try:
                yield
            finally:
                with frame.banner:
                    for text in notes:
                        st.warning(text, icon=":material/search:")
    except UpstreamError as exc:
        show_upstream_error(exc)
    except AlarmConfigError as exc:
        st.error(f"Alarm configuration error — {exc}")
    except (AccessDenied, PeriodError) as exc:
        st.error(str(exc))
    finally:
        _current.reset(token)
        footer(rt, as_of=frame.as_of)


def freshness(result: Fresh) -> None:
    """Report what a page drew: a stale value gets a warning at the top of the page (once per
    failure), a fresh one its time in the footer's "data as of".

    Outside the frame (a fragment rerun, a direct call in a test) it is drawn in place.
    """
    frame = _current.get()
    if frame is None:
        _draw_freshness(result, get_runtime().clock())
    elif result.stale:
        key = (result.fetched_at, result.error)
        if key not in frame.shown:
            frame.shown.add(key)
            with frame.banner:
                _draw_freshness(result, frame.rt.clock())
    elif frame.as_of is None or result.fetched_at < frame.as_of:
        frame.as_of = result.fetched_at


def _draw_freshness(result: Fresh, now: float) -> None:
    if result.stale:
        why = ("the latest refresh is " if (result.error or "").startswith(STILL_LOADING)
               else "the latest refresh failed — ")
        st.warning(f"Showing cached data as of {clock(result.fetched_at, current_zone())} "
                   f"({age(now - result.fetched_at)} old): {why}"
                   f"{result.error}", icon=":material/warning:")
    else:
        st.caption(f"Data as of {clock(result.fetched_at, current_zone())}")


def show_upstream_error(exc: UpstreamError) -> None:
    if isinstance(exc, StillLoading):
        st.info(f"Still loading / timed out: {exc}. Nothing is cached yet; reload in a few "
                "seconds.", icon=":material/hourglass_top:")
        return
    st.error(f"The data source did not answer and nothing is cached yet: {exc}. "
             "The page retries on the next refresh.")


def footer(rt: Runtime, *, as_of: float | None = None) -> None:
    snap: dict[str, Any] = rt.cache.snapshot()
    calls = sum(snap["aws_calls"].values())
    st.divider()
    if as_of is not None:
        st.caption(f"Data as of {clock(as_of, current_zone())}")
    st.caption(
        f"Backend: **{rt.sources.description}** · cache hits {snap['hits']}, misses "
        f"{snap['misses']}, stale serves {snap['stale']} · AWS API calls this process: {calls}"
        + shared_note(snap)
    )


def shared_note(snap: dict[str, Any]) -> str:
    """The footer's words on the shared cache tier (empty without one)."""
    if "tier" not in snap:
        return ""
    if snap["tier"] != "up":
        return " · shared cache unreachable: this task serves from its own cache"
    fleet = snap.get("fleet") or {}
    fleet_calls = sum(n for k, n in fleet.items() if k.startswith("aws_calls|"))
    return (f" · shared cache: hits {snap['l2_hits']}, misses {snap['l2_misses']}"
            f" · AWS API calls, whole fleet: {fleet_calls}")
