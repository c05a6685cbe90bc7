"""Per-app bearer tokens of the local ingest endpoint: each token writes only its app.

The file ``<data dir>/ingest-tokens.json`` (mode 0600) keeps only each token's SHA-256 and
when it was made, so a token is shown exactly once: when it is created (first start, a new app
in the catalog, or ``python -m analytics.cli.tokens rotate <app>``). The endpoint re-reads the
file when it changes, so a rotation takes effect on the next request, and the old token is 401.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.guard import token_digest

FILE_NAME = "ingest-tokens.json"


class TokenFileError(ValueError):
    """The tokens file cannot be read; the message names it."""


@dataclass(frozen=True)
class TokenInfo:
    app: str
    created: float  # epoch seconds


class TokenBook:
    """The tokens file: digests in, apps out; new tokens are returned once and never stored."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: dict[str, dict[str, object]] = {}

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._entries = None, {}
            return self._entries
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                entries = {str(app): {"sha256": str(e["sha256"]), "created": float(e["created"])}
                           for app, e in data.items()}
            except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                raise TokenFileError(f"{self.path}: unreadable ingest tokens file "
                                     f"({type(exc).__name__}); fix or delete it and restart"
                                     ) from None
            self._stamp, self._entries = stamp, entries
        return self._entries

    def _save(self, entries: dict[str, dict[str, object]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".ingest-tokens-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entries, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._stamp = None

    def digests(self) -> dict[str, frozenset[str]]:
        """token digest -> the one app it writes (what the endpoint's authorizer looks up)."""
        with self._lock:
            return {str(e["sha256"]): frozenset({app}) for app, e in self._load().items()}

    def ensure(self, apps: Iterable[str]) -> dict[str, str]:
        """Create a token for every app without one; returns the new tokens (show them once)."""
        with self._lock:
            entries = dict(self._load())
            new = {app: secrets.token_urlsafe(32) for app in apps if app not in entries}
            if new:
                for app, token in new.items():
                    entries[app] = {"sha256": token_digest(token), "created": self.clock()}
                self._save(entries)
            return new

    def rotate(self, app: str) -> str:
        """A new token for ``app``; the old one stops working at the endpoint's next request."""
        with self._lock:
            entries = dict(self._load())
            token = secrets.token_urlsafe(32)
            entries[app] = {"sha256": token_digest(token), "created": self.clock()}
            self._save(entries)
            return token

    def listing(self) -> list[TokenInfo]:
        with self._lock:
            return [TokenInfo(app, float(str(e["created"])))
                    for app, e in sorted(self._load().items())]


def token_book(data_dir: Path) -> TokenBook:
    return TokenBook(Path(data_dir) / FILE_NAME)


def announce(new: dict[str, str], path: Path, url: str | None = None) -> str:
    """The lines that show new tokens, once (never written to a log file by us)."""
    lines = [f"New local ingest tokens (shown once; only their hashes are kept in {path}):"]
    lines += [f"  {app}: {token}" for app, token in sorted(new.items())]
    if url:
        lines.append(f"  curl -X POST {url} -H 'Authorization: Bearer <token of the app>' "
                     "-d '{\"applicationId\": \"<app>\", \"metricName\": \"Signups\", "
                     "\"value\": 1}'")
    lines.append("Rotate one: python -m analytics.cli.tokens rotate <app>")
    return "\n".join(lines)
