"""A real HTTP receiver on 127.0.0.1 for webhook tests: a tiny threaded ``http.server`` that records
every request (headers, body) and answers what the test says (status, body, delay)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    body: bytes = b'{"ok": true}'
    delay: float = 0.0

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(
                Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
            )
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(receiver.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(receiver.body)))
            self.end_headers()
            self.wfile.write(receiver.body)

        def log_message(self, *args):  # keep test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
