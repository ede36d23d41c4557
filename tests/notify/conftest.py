"""Fixtures for notifier tests: a real local HTTP receiver for webhooks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers as scripted.

    ``answers`` is consumed one status per request; once empty, ``default``
    is answered. ``extra_headers`` are added to every answer.
    """

    server: ThreadingHTTPServer
    answers: list[int] = field(default_factory=list)
    default: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """The requests once there are ``count``; fails after ``timeout``."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.requests) >= count, timeout)
            got = list(self.requests)
        assert len(got) >= count, f"got {len(got)} requests, expected {count}"
        return got


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with receiver.changed:
                status = (
                    receiver.answers.pop(0) if receiver.answers else receiver.default
                )
                receiver.requests.append(
                    Received(self.path, dict(self.headers), body, time.monotonic())
                )
                receiver.changed.notify_all()
            self.send_response(status)
            for name, value in receiver.extra_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free port of 127.0.0.1, served on a thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = Receiver(server)
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}/hook"
    sock.close()
