"""Signed-out sessions: a deny-list of session ids kept until their cookies would expire.

Deleting the cookie only helps the browser that signed out; a copy taken earlier would still
sign in. So sign-out records the session id here and every run of a signed-in session (and
every cookie sign-in) asks :meth:`RevokedSessions.is_revoked`. Ids are stored as SHA-256 digests
and entries carry their own expiry (the cookie's), so the list stays as small as the number of
sessions signed out within one cookie lifetime.

Implementations: a JSON file in the data dir (local backend; survives a restart) and an item
with a TTL in the metrics table (aws backend, shared by every task). A shared cache tier plugs in
behind the same protocol (``analytics.sources.security_stores``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from analytics.core.permissions import SESSION_KEY_PREFIX

log = logging.getLogger(__name__)

FILE_NAME = "revoked-sessions.json"
#: Partition-key prefix of the deny-list items in the metrics table (app ids never start so).
DDB_PREFIX = SESSION_KEY_PREFIX


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


class RevokedSessions(Protocol):
    def revoke(self, sid: str, *, until: float) -> None:
        """Deny ``sid`` until ``until`` (epoch seconds: the cookie's own expiry)."""
        ...

    def is_revoked(self, sid: str) -> bool: ...


class MemoryRevokedSessions:
    """In-process only (tests, and a runtime built without a data dir)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, sid: str, *, until: float) -> None:
        with self._lock:
            self._until[_digest(sid)] = until

    def is_revoked(self, sid: str) -> bool:
        with self._lock:
            return self._until.get(_digest(sid), 0.0) > self.clock()


class FileRevokedSessions:
    """A 0600 JSON file ``{digest: until}`` rewritten atomically; re-read when it changes."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._until: dict[str, float] = {}

    def _load(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._until = None, {}
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            data = {str(k): float(v) for k, v in raw.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(self.clock())}")
            log.error("revoked sessions: %s is unreadable; moved to %s and starting an empty "
                      "list (cookies signed out before stay valid until they expire)",
                      self.path, aside.name)
            self.path.replace(aside)
            self._stamp, self._until = None, {}
            return
        self._stamp, self._until = stamp, data

    def revoke(self, sid: str, *, until: float) -> None:
        with self._lock:
            self._load()
            now = self.clock()
            data = {k: v for k, v in self._until.items() if v > now}
            data[_digest(sid)] = until
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".revoked-", dir=self.path.parent)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._until, self._stamp = data, None

    def is_revoked(self, sid: str) -> bool:
        with self._lock:
            self._load()
            return self._until.get(_digest(sid), 0.0) > self.clock()


class DynamoDBRevokedSessions:
    """One item per revoked session in the metrics table, removed by its ``ttl``.

    Reads are consistent (a sign-out on one task is seen by the next run on any other), and
    the ttl is checked on read too, because DynamoDB deletes expired items up to days late.
    """

    def __init__(self, *, client: Any, table: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    def _key(self, sid: str) -> dict[str, dict[str, str]]:
        return {"metricId": {"S": DDB_PREFIX + _digest(sid)}, "timestamp": {"N": "0"}}

    def revoke(self, sid: str, *, until: float) -> None:
        self.client.put_item(TableName=self.table,
                             Item={**self._key(sid), "ttl": {"N": str(int(until) + 1)}})

    def is_revoked(self, sid: str) -> bool:
        item = self.client.get_item(TableName=self.table, Key=self._key(sid),
                                    ConsistentRead=True).get("Item")
        if not item:
            return False
        return float(item.get("ttl", {}).get("N", "0")) > self.clock()
