"""A tiny threaded HTTP server on 127.0.0.1 with scriptable faults."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeServer:
    """Subclasses implement `route(path, query) -> (status, content_type, body bytes)`.

    `faults[name]` is a list of actions consumed one per request for that name:
    "429", "500", "503", "empty", "timeout" (sleep past the client's timeout),
    "truncated" (half a body, then the connection closes).
    `retry_after`, when set, is sent as the Retry-After header of every 429 and 503 answer.
    `request_times` holds time.monotonic() of each request, in arrival order.
    """

    def __init__(self):
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.requests: list[str] = []
        self.request_times: list[float] = []
        self.retry_after: str | None = None
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                server_self.requests.append(self.path)
                server_self.request_times.append(time.monotonic())
                status, ctype, body = server_self.route(parts.path, query)
                truncated = False
                if isinstance(status, str):  # a fault
                    fault = status
                    if fault == "timeout":
                        server_self.stop_event.wait(server_self.timeout_sleep)
                        status, body = 504, b"timeout"
                    elif fault == "truncated":
                        status, truncated = 200, True
                    else:
                        status = int(fault)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Set-Cookie", "A3=fake; Path=/")
                if server_self.retry_after is not None and status in (429, 503):
                    self.send_header("Retry-After", server_self.retry_after)
                self.end_headers()
                if truncated:
                    self.wfile.write(body[: max(1, len(body) // 2)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.stop_event = threading.Event()
        self.timeout_sleep = 5.0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def take_fault(self, name: str) -> str | None:
        queue = self.faults.get(name)
        return queue.pop(0) if queue else None

    def route(self, path: str, query: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
