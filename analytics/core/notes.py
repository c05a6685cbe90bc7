"""Notes for the page being drawn: what a service learned that the reader must be told.

An empty chart must never look like "no traffic" when it is really "no permission": a source
that gets a partial answer (GetMetricData's per-series ``Forbidden``, a cost-allocation tag that
is not active) leaves a note, and the page frame draws every note of the run above the page.
The notes live in a context variable, so each script run collects its own and nothing leaks
between sessions; outside a page (CLIs, tests) :func:`collecting` gathers them the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_notes: ContextVar[list[str] | None] = ContextVar("page_notes", default=None)


def note(*texts: str) -> None:
    """Record notes for the running page (once each); without a collector they are dropped."""
    collected = _notes.get()
    if collected is None:
        return
    for text in texts:
        if text and text not in collected:
            collected.append(text)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the notes recorded inside the block into the list it yields."""
    collected: list[str] = []
    token = _notes.set(collected)
    try:
        yield collected
    finally:
        _notes.reset(token)
