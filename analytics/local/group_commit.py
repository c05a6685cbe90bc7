"""Group commit for the local ingest twin: concurrent requests share one DuckDB transaction.

A commit costs the same whether it holds one datapoint or a thousand (the WAL is written once),
so committing each single-item POST on its own caps the endpoint at the commit rate. Here each
request *submits* its items and waits for its :class:`Ticket`; one committer thread takes
everything queued (waiting ``linger_s`` after the first arrival for company), writes it in one
transaction, then answers every ticket. A request is acknowledged only after the transaction
holding it committed, and a failed transaction fails every request in it, each of which is then
resent whole by its client (the writes are idempotent upserts).
After each commit, ``on_commit`` receives the written items (live updates are published there).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics.local.custom_sink import DuckDBSink

log = logging.getLogger(__name__)
#: How long a request waits for its commit before reporting its items not written.
WAIT_S = 20.0
OnCommit = Callable[[Sequence[Any], int], object]


@dataclass(eq=False)
class Ticket:
    """One submitted request; :meth:`wait` returns the positions of its items not written."""

    items: list[Any]
    _done: threading.Event = field(default_factory=threading.Event)
    _failed: list[int] = field(default_factory=list)
    _callbacks: list[Callable[[list[int]], object]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self, failed: list[int]) -> None:
        with self._lock:
            self._failed = failed
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(failed)
            except Exception:  # e.g. its event loop closed: the others must still hear
                log.exception("custom metrics: a commit callback failed")

    def add_done_callback(self, callback: Callable[[list[int]], object]) -> None:
        """Call ``callback(failed positions)`` once committed (at once if it already is);
        it runs on the committer's thread: hand the result over, do no work there."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        callback(self._failed)

    def wait(self, timeout: float = WAIT_S) -> list[int]:
        if not self._done.wait(timeout):
            log.error("custom metrics: no commit within %.0f s; reporting %d items unwritten",
                      timeout, len(self.items))
            return list(range(len(self.items)))
        return self._failed


class GroupCommitSink:
    """A ``MetricSink`` with ``submit``: writes through ``sink`` one transaction per group."""

    def __init__(self, sink: DuckDBSink, *, linger_s: float = 0.001, max_items: int = 20_000,
                 on_commit: OnCommit | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.sink = sink
        self.store = sink.store
        self.linger_s = linger_s
        self.max_items = max_items
        self.on_commit = on_commit
        self.clock = clock
        self.commits = 0  # transactions (tests and the bench read them)
        self.requests = 0  # tickets answered
        self._queue: list[Ticket] = []
        self._inflight: list[Ticket] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-commit", daemon=True)
        self._thread.start()

    # -- the sink side ------------------------------------------------------------------------
    def submit(self, items: list[Any]) -> Ticket:
        ticket = Ticket(list(items))
        if not items:
            ticket.finish([])
            return ticket
        with self._cond:
            if self._stopping:
                ticket.finish(list(range(len(items))))
                return ticket
            self._queue.append(ticket)
            self._cond.notify()
        return ticket

    def write(self, items: list[Any]) -> list[int]:
        return self.submit(items).wait()

    def health(self) -> str | None:
        return self.sink.health()

    def count(self) -> int:
        return self.sink.count()

    def pending_items(self) -> list[Any]:
        """Items submitted and not yet committed (the cardinality check counts them too)."""
        with self._cond:
            return [i for t in (*self._inflight, *self._queue) for i in t.items]

    # -- the committer ------------------------------------------------------------------------
    def _take(self) -> list[Ticket] | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if not self._queue:
                return None
            if self.linger_s > 0 and not self._stopping:
                self._cond.wait(self.linger_s)  # let requests arriving now join this commit
            group: list[Ticket] = []
            size = 0
            while self._queue and (not group or size + len(self._queue[0].items)
                                   <= self.max_items):
                ticket = self._queue.pop(0)
                group.append(ticket)
                size += len(ticket.items)
            self._inflight = group
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            items = [i for t in group for i in t.items]
            try:
                failed = set(self.sink.write(items))
            except Exception:  # DuckDBSink reports failures; this is a bug, still answer
                log.exception("custom metrics: group commit failed")
                failed = set(range(len(items)))
            committed_ms = int(self.clock() * 1000)
            written = [item for pos, item in enumerate(items) if pos not in failed]
            if written and self.on_commit is not None:
                try:
                    self.on_commit(written, committed_ms)
                except Exception:
                    log.exception("custom metrics: publishing a commit failed")
            offset = 0
            for ticket in group:
                n = len(ticket.items)
                ticket.finish([p - offset for p in range(offset, offset + n) if p in failed])
                offset += n
            with self._cond:
                self._inflight = []
                self.commits += 1
                self.requests += len(group)

    def stop(self) -> None:
        """Commit what is queued, then stop the committer."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=10)
