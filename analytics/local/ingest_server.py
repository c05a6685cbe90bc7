"""The local twin of the ingest API and of the read API: one Starlette app on uvicorn.

Why the Lambda's own code: the ingest contract (202/400/401/413/422/503, validation rules,
idempotent keys) must be identical on a laptop and on AWS, so each ``POST /metrics`` becomes an
API Gateway HTTP API v2 event handled by ``ingest.app``'s handler — only the sink (DuckDB
through a group commit instead of DynamoDB) and the credential (a bearer token instead of
SigV4/IAM) differ. The same port serves the GraphQL API (``/graphql``: queries over HTTP,
subscriptions over ``graphql-transport-ws``; :mod:`analytics.local.twin_app`). It runs inside
the dashboard process because DuckDB allows one writer process.

Credentials: each app has its own token (:mod:`analytics.local.ingest_tokens`), which writes
and reads only that app (another app's ``applicationId`` is 403, nothing written). One operator
token writes and reads every app: ``settings.ingest_token`` (``INGEST_TOKEN``, from the
environment or secrets.toml), else a random one kept in ``<data dir>/ingest-token`` (mode 600);
the in-process business-metric feeder uses it, and it is not printed at start.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from analytics.api.updates import UpdateHub
from analytics.core.catalog import Catalog
from analytics.core.clock import Clock, system_clock
from analytics.core.settings import Settings
from analytics.local.custom_sink import DuckDBSeriesRegistry, DuckDBSink
from analytics.local.group_commit import GroupCommitSink
from analytics.local.ingest_tokens import TokenBook, announce, token_book
from analytics.local.twin_app import READ_CAP_BYTES, build_app
from ingest import app as ingest_app
from ingest import guard as ingest_guard

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
TOKEN_ENV = "INGEST_TOKEN"
TOKEN_FILE = "ingest-token"
__all__ = ["READ_CAP_BYTES", "IngestServer", "build_local_resolver", "ingest_token",
           "start_ingest_server"]
RETENTION_DAYS = 90  # the Lambda's default TTL
#: The listen backlog: bursts of connecting clients queue instead of being reset.
BACKLOG = 128


def ingest_token(settings: Settings, *, announce: bool = True) -> tuple[str, str]:
    """The bearer token of the local endpoint and where it came from (env, secrets or a file).

    The first call without a configured token creates ``<data_dir>/ingest-token`` and, when
    ``announce``, prints the token once so the operator can copy it into a client.
    """
    if settings.ingest_token is not None:
        source = f"${TOKEN_ENV}" if TOKEN_ENV in settings.from_env else "secrets.toml"
        return settings.ingest_token.get_secret_value(), source
    path = Path(settings.data_dir) / TOKEN_FILE
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing, str(path)
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    if announce:
        print(f"Local ingest token generated (stored in {path}): {token}", flush=True)
    return token, str(path)


def quiet_lambda_logs(level: int | str = logging.WARNING) -> None:
    """Lower the Lambda logger's verbosity (one JSON line per request) for ``make run``/benches."""
    ingest_app.logger.setLevel(level)


@dataclass
class LocalIngest:
    """What the twin serves: the Lambda's handler and resolver, the sink, the update hub."""

    handler: ingest_app.IngestHandler
    resolver: Any
    sink: Any
    hub: UpdateHub
    authorize: ingest_guard.Authorizer
    on_stop: list[Callable[[], object]] = field(default_factory=list)

    def name_of(self, apps: frozenset[str] | None) -> str:
        """A principal's name for a credential's apps (tokens have no other name)."""
        if apps is None:
            return ""
        return "operator" if "*" in apps else "token:" + ",".join(sorted(apps))

    def stop(self) -> None:
        if isinstance(self.sink, GroupCommitSink):
            self.sink.stop()
        for undo in self.on_stop:
            undo()


class IngestServer:
    """A started local endpoint; ``stop()`` closes the socket and joins the thread."""

    def __init__(self, ingest: LocalIngest, token: str, host: str = HOST, port: int = 8787, *,
                 backlog: int = BACKLOG, clock: Callable[[], float] = time.time) -> None:
        self.ingest = ingest
        self.token = token
        self.clock = clock
        self.backlog = backlog
        #: The runtime the GraphQL resolvers read (bound once the runtime is built).
        self.api: Any = None
        self.statuses: Counter[int] = Counter()  # answers by HTTP status (tests, bench, footer)
        self._lock = threading.Lock()
        # proto given explicitly: asyncio turns Nagle off only on sockets whose proto says TCP,
        # and a keep-alive client's delayed ACK otherwise holds every answer back ~40 ms
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, port))  # OSError if the port is taken
            self._sock.listen(backlog)
        except OSError:
            self._sock.close()
            raise
        self.host, self.port = host, int(self._sock.getsockname()[1])
        config = uvicorn.Config(build_app(self), log_config=None, access_log=False,
                                log_level="warning",
                                lifespan="off", http="httptools", ws="websockets-sansio",
                                backlog=backlog,
                                timeout_keep_alive=10, ws_ping_interval=20.0)
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="ingest-http", daemon=True)
        self._stopped = False

    def _serve(self) -> None:
        self._uvicorn.run(sockets=[self._sock])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The ``POST`` endpoint."""
        return f"{self.base_url}/metrics"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def bind_api(self, runtime: Any) -> None:
        """Serve the GraphQL API from ``runtime`` (the composition root's, once built)."""
        self.api = runtime

    def count(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def start(self) -> IngestServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started and self._thread.is_alive() \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        if not self._uvicorn.started:
            raise RuntimeError("the local endpoint did not start")
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._uvicorn.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()
        self.ingest.stop()


def build_local_resolver(catalog: Catalog, sink: Any, token: str, *,
                         book: TokenBook | None = None, linger_s: float = 0.001,
                         clock: Clock = system_clock) -> LocalIngest:
    """The Lambda's handler with the DuckDB sink behind a group commit, bearer tokens, and
    no EMF output; each commit is published to the GraphQL subscribers.

    ``token`` writes every app (the operator's); the ``book``'s tokens write one app each. On
    a DuckDB sink the catalog's cardinality caps are enforced from the table itself.
    """
    operator = {ingest_guard.token_digest(token): ingest_guard.EVERY_APP} if token else {}

    def lookup() -> dict[str, frozenset[str]]:
        return {**(book.digests() if book is not None else {}), **operator}

    hub = UpdateHub()
    registry = None
    health = None
    writer: Any = sink
    on_stop: list[Callable[[], object]] = []
    if isinstance(sink, DuckDBSink):
        writer = GroupCommitSink(sink, linger_s=linger_s, clock=clock,
                                 on_commit=lambda items, ms: hub.publish_committed(
                                     items, committed_ms=ms))
        series = DuckDBSeriesRegistry(sink.store, pending=writer.pending_items)
        sink.listeners.append(series.record)  # every commit, the feeder's history too
        on_stop.append(lambda: sink.listeners.remove(series.record))
        registry, health = series, sink.health
    authorize = ingest_guard.bearer_authorizer(lookup)
    handler = ingest_app.build_handler(
        writer, catalog.ids(), emit_emf=False, authorize=authorize, clock=clock,
        namespaces={a.id: a.namespace for a in catalog.apps},
        retention_days=RETENTION_DAYS, registry=registry,
        caps={a.id: ingest_guard.Caps(a.max_metric_names, a.max_dimension_sets)
              for a in catalog.apps},
        health_check=health,
    )
    return LocalIngest(handler, ingest_app.resolver_for(handler), writer, hub, authorize, on_stop)


def start_ingest_server(catalog: Catalog, settings: Settings, sink: DuckDBSink,
                        *, host: str = HOST, clock: Clock = system_clock
                        ) -> IngestServer | None:
    """Start the endpoint on ``settings.ingest_port`` (0 = any free port).

    A taken port is reported and the dashboard runs on without the endpoint, rather than the
    whole start failing for a side feature.
    """
    token, _ = ingest_token(settings, announce=False)
    book = token_book(settings.data_dir)
    ingest = build_local_resolver(catalog, sink, token, book=book, clock=clock)
    try:
        server = IngestServer(ingest, token, host, settings.ingest_port, clock=clock)
    except OSError as exc:
        ingest.stop()
        log.error("local ingest endpoint not started: cannot listen on %s:%s (%s); set "
                  "INGEST_PORT to a free port", host, settings.ingest_port, exc.strerror or exc)
        return None
    new = book.ensure(catalog.ids())
    if new:  # printed once, on the operator's terminal; never logged again
        print(announce(new, book.path, server.url), flush=True)
    log.info("local ingest endpoint on %s (GraphQL on %s)", server.url, server.graphql_url)
    return server.start()
