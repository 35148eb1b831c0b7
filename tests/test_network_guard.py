import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from tests.conftest import NetworkAccessError


def test_connection_outside_loopback_is_refused():
    # TEST-NET-1 (RFC 5737): never routed; the guard raises before any packet is sent
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)


def test_name_resolution_outside_loopback_is_refused():
    with pytest.raises(Exception) as info:
        requests.get("https://query2.finance.yahoo.com/v8/finance/chart/BTC-USD", timeout=1)
    assert "resolve" in str(info.value) or isinstance(info.value, NetworkAccessError)


def test_loopback_is_allowed():
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hi")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert requests.get(f"http://127.0.0.1:{server.server_port}/", timeout=5).text == "hi"
    finally:
        server.shutdown()
