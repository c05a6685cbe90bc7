"""A scripted HTTP endpoint standing in for an AWS service: real sockets, real botocore.

``ScriptedEndpoint(replies)`` answers each request with the next ``(status, json body)`` (the
last one repeats) and records what arrived; ``hang=True`` accepts connections and never
answers, like a half-dead endpoint behind a load balancer. Used where moto cannot misbehave.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedEndpoint:
    def __init__(self, replies: list[tuple[int, dict[str, Any]]] | None = None, *,
                 hang: bool = False) -> None:
        self.replies = list(replies or [(200, {})])
        self.requests: list[dict[str, Any]] = []
        self.hang = hang
        self._release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # every JSON-protocol AWS call is a POST
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                endpoint.requests.append({"headers": dict(self.headers),
                                          "target": self.headers.get("X-Amz-Target"),
                                          "body": body})
                if endpoint.hang:
                    endpoint._release.wait()
                    return
                n = len(endpoint.requests) - 1
                status, payload = endpoint.replies[min(n, len(endpoint.replies) - 1)]
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
