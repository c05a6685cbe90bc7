"""The local twin of the ingest API: ``http://127.0.0.1:8787/metrics`` served in-process.

Why a stdlib server running the Lambda's own resolver: the contract (202/400/401/413/422/503,
validation rules, idempotent keys) must be identical on a laptop and on AWS, so each HTTP request
becomes an API Gateway HTTP API v2 event and goes through ``build_resolver`` from
``infra/functions/ingest`` — only the sink (DuckDB instead of DynamoDB) and the credential (a
bearer token instead of SigV4/IAM) differ. It runs inside the dashboard process because DuckDB
allows one writer process.

Credentials: each app has its own token (:mod:`analytics.local.ingest_tokens`), which writes
only that app (another app's ``applicationId`` is 403, nothing written). One operator token
writes every app: ``settings.ingest_token`` (``INGEST_TOKEN``, from the environment or
secrets.toml), else a random one kept in ``<data dir>/ingest-token`` (mode 600); the in-process
business-metric feeder uses it, and it is not printed at start. Apps get their own token.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from analytics.core.catalog import Catalog
from analytics.core.clock import Clock, system_clock
from analytics.core.settings import Settings
from analytics.local.custom_sink import DuckDBSeriesRegistry, DuckDBSink
from analytics.local.ingest_tokens import TokenBook, announce, token_book
from ingest import app as ingest_app
from ingest import events as ingest_events
from ingest import guard as ingest_guard

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
TOKEN_ENV = "INGEST_TOKEN"
TOKEN_FILE = "ingest-token"
#: Bodies up to this size are read and handed to the resolver (which answers 413 above 256 KB
#: with the real size); anything larger is refused unread so a client cannot make us buffer it.
READ_CAP_BYTES = 4 * 262_144
RETENTION_DAYS = 90  # the Lambda's default TTL


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


class _Handler(BaseHTTPRequestHandler):
    """Translates one HTTP request into a resolver call; never raises into the socket server."""

    protocol_version = "HTTP/1.1"  # keep-alive: a client may send many batches per connection
    server_version = "CentralAnalyticsIngest/1"
    timeout = 10  # seconds per socket read: a stalled client cannot hold a thread forever
    # Headers and body leave in two writes; with Nagle on, a keep-alive client's delayed ACK
    # holds the body back ~40 ms per request.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = b""
        raw_length = self.headers.get("Content-Length")
        if raw_length is not None:
            try:
                length = int(raw_length)
                if length < 0:
                    raise ValueError
            except ValueError:
                self._reply_error(400, f"invalid Content-Length {raw_length[:40]!r}", close=True)
                return
            if length > READ_CAP_BYTES:
                self._reply_error(413, f"body is {length} bytes; at most 262144", close=True)
                return
            body = self.rfile.read(length)
        elif self.headers.get("Transfer-Encoding"):
            self._reply_error(411, "send the body with a Content-Length (no chunked encoding)",
                              close=True)
            return
        try:
            status, headers, data = self.server.ingest.invoke(
                self.command, self.path, headers=dict(self.headers.items()), body=body)
        except Exception:  # the resolver answers 500 itself; this is a bug in the bridge
            log.exception("local ingest: request failed")
            self._reply_error(500, "internal error")
            return
        self.server.ingest.count(status)
        self._reply(status, headers, data)

    def _reply_error(self, status: int, message: str, close: bool = False) -> None:
        self.server.ingest.count(status)
        body = json.dumps({"errors": [{"index": None, "field": None, "message": message}]})
        self._reply(status, {"Content-Type": "application/json"}, body.encode(), close=close)

    def _reply(self, status: int, headers: dict[str, str], data: bytes,
               close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("local ingest %s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    #: The listen backlog: bursts of connecting clients queue instead of being reset.
    request_queue_size = 128
    ingest: IngestServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is one line, not a traceback; anything else is logged."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.info("local ingest: client %s went away (%s)", client_address[0],
                     type(exc).__name__)
            return
        log.exception("local ingest: request from %s failed", client_address[0])


class IngestServer:
    """A started local endpoint; ``stop()`` closes the socket and joins the thread."""

    def __init__(self, resolver: Any, token: str, host: str = HOST, port: int = 8787) -> None:
        self._invoke = ingest_events.invoke
        self.resolver = resolver
        self.token = token
        self.statuses: Counter[int] = Counter()  # answers by HTTP status (tests, bench, footer)
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)  # OSError if the port is taken
        self._httpd.ingest = self
        self.host, self.port = host, int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="ingest-http",
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The ``POST`` endpoint."""
        return f"{self.base_url}/metrics"

    def invoke(self, method: str, path: str, *, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        return self._invoke(self.resolver, method, path, headers=headers, body=body)

    def count(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def start(self) -> IngestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def build_local_resolver(catalog: Catalog, sink: Any, token: str, *,
                         book: TokenBook | None = None,
                         clock: Clock = system_clock) -> Any:
    """The Lambda's resolver with the DuckDB sink, bearer tokens and no EMF output.

    ``token`` writes every app (the operator's); the ``book``'s tokens write one app each. On
    a DuckDB sink the catalog's cardinality caps are enforced from the table itself.
    """
    operator = {ingest_guard.token_digest(token): ingest_guard.EVERY_APP} if token else {}

    def lookup() -> dict[str, frozenset[str]]:
        return {**(book.digests() if book is not None else {}), **operator}

    registry = DuckDBSeriesRegistry(sink.store) if isinstance(sink, DuckDBSink) else None
    return ingest_app.build_resolver(
        sink, catalog.ids(), emit_emf=False, clock=clock,
        authorize=ingest_guard.bearer_authorizer(lookup),
        namespaces={a.id: a.namespace for a in catalog.apps},
        retention_days=RETENTION_DAYS,
        registry=registry,
        caps={a.id: ingest_guard.Caps(a.max_metric_names, a.max_dimension_sets)
              for a in catalog.apps},
        health_check=sink.health if isinstance(sink, DuckDBSink) else None,
    )


def start_ingest_server(catalog: Catalog, settings: Settings, sink: DuckDBSink,
                        *, host: str = HOST, clock: Clock = system_clock
                        ) -> IngestServer | None:
    """Start the endpoint on ``settings.ingest_port`` (0 = any free port).

    A taken port is reported and the dashboard runs on without the endpoint, rather than the
    whole start failing for a side feature.
    """
    token, _ = ingest_token(settings, announce=False)
    book = token_book(settings.data_dir)
    resolver = build_local_resolver(catalog, sink, token, book=book, clock=clock)
    try:
        server = IngestServer(resolver, token, host, settings.ingest_port)
    except OSError as exc:
        log.error("local ingest endpoint not started: cannot listen on %s:%s (%s); set "
                  "INGEST_PORT to a free port", host, settings.ingest_port, exc.strerror or exc)
        return None
    new = book.ensure(catalog.ids())
    if new:  # printed once, on the operator's terminal; never logged again
        print(announce(new, book.path, server.url), flush=True)
    log.info("local ingest endpoint on %s", server.url)
    return server.start()
