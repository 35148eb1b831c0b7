"""A local webhook receiver (Slack-style): records every POSTed JSON body; `statuses` is a
list of HTTP statuses answered one per request (then 200), e.g. [503, 429, 200]."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeWebhook:
    def __init__(self, statuses: list[int] | None = None, retry_after: str | None = None,
                 port: int = 0):
        self.statuses = list(statuses or [])
        self.retry_after = retry_after
        self.received: list[dict] = []  # bodies answered 2xx
        self.attempts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.attempts += 1
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status < 300:
                    hook.received.append(json.loads(body))
                self.send_response(status)
                if status == 429 and hook.retry_after:
                    self.send_header("Retry-After", hook.retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/hooks/T000/B000/secret-token"

    def events(self, kind: str | None = None) -> list[dict]:
        return [b["event"] for b in self.received if kind is None or b["event"]["kind"] == kind]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":  # a receiver to try alerts by hand (docs/operations.md, "Alerts")
    import argparse
    import time

    parser = argparse.ArgumentParser(description="print every alert POSTed to it")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    hook = FakeWebhook(port=args.port)
    with hook:
        print(f"listening on http://127.0.0.1:{args.port}/ (Ctrl-C to stop)", flush=True)
        seen = 0
        try:
            while True:
                for body in hook.received[seen:]:
                    print(json.dumps(body, indent=2), flush=True)
                seen = len(hook.received)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
