"""A loopback HTTP server with scripted faults and a record of every request.

Faults are consumed in order, one per matching request: an HTTP status with a body, a hang longer than the
client's timeout, a malformed body, or a dropped connection. Requests are recorded (method, path, query,
headers, body) so that tests can check what the real SDK sent.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Fault:
    """What to do instead of answering normally. ``when`` picks the request (default: the next one)."""

    status: int = 0  # answer with this status and ``body`` (0: answer normally after ``hang_s``)
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    hang_s: float = 0.0  # sleep this long first
    drop: bool = False  # close the connection without an answer
    trickle_s: float = 0.0  # answer normally, but send the body a few bytes at a time over this long
    hold: threading.Event | None = None  # answer only once this is set (at most ``hang_s``, else 300 s)
    holding: threading.Event | None = None  # set when the hold begins (the request is in flight)
    when: Callable[[Recorded], bool] | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackServer(ThreadingHTTPServer):
    """Serves ``handle(recorded) -> Reply`` on 127.0.0.1 at an ephemeral port."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, handle: Callable[[Recorded], Reply]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.handle_request_fn = handle
        self.faults: list[Fault] = []
        #: applied to every normal answer before it is sent (hostile variants of the wire format)
        self.rewrite: Callable[[Recorded, Reply], Reply] | None = None
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_fault(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def take_fault(self, recorded: Recorded) -> Fault | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.when is None or fault.when(recorded):
                    return self.faults.pop(index)
        return None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def rewrite_json(change: Callable[[Any], Any]) -> Callable[[Recorded, Reply], Reply]:
    """A ``rewrite`` that edits the JSON body of successful answers (``change`` returns the new document)."""

    def rewrite(request: Recorded, reply: Reply) -> Reply:
        if reply.status != 200 or "json" not in reply.content_type:
            return reply
        document = change(json.loads(reply.body))
        return Reply(reply.status, json.dumps(document).encode(), reply.content_type, reply.headers)

    return rewrite


class Hang(Exception):
    """Raised in the main thread by :func:`no_hang` when the guarded code runs too long."""


@contextmanager
def no_hang(seconds: float) -> Iterator[None]:
    """Fail (raise :class:`Hang`) instead of hanging when the body runs longer than ``seconds`` (generous:
    a loaded machine is slow, an endless loop is endless). Main thread only (SIGALRM)."""

    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds:g} s: this would hang")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def serving(server: LoopbackServer) -> Iterator[LoopbackServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parsed = urllib.parse.urlsplit(self.path)
        recorded = Recorded(
            self.command,
            parsed.path,
            urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        with self.server.lock:
            self.server.requests.append(recorded)
        fault = self.server.take_fault(recorded)
        if fault is not None:
            if fault.hold is not None:
                if fault.holding is not None:
                    fault.holding.set()
                fault.hold.wait(timeout=fault.hang_s or 300.0)
            elif fault.hang_s:
                time.sleep(fault.hang_s)
            if fault.drop:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault.status:
                self._send(Reply(fault.status, fault.body, fault.content_type, dict(fault.headers)))
                return
            if fault.trickle_s:
                self._send(self.server.handle_request_fn(recorded), trickle_s=fault.trickle_s)
                return
        try:
            reply = self.server.handle_request_fn(recorded)
            if self.server.rewrite is not None:
                reply = self.server.rewrite(recorded, reply)
        except Exception as exc:  # a bug in a test server must show, not hang the client
            reply = Reply(599, f"test server error: {type(exc).__name__}: {exc}".encode(), "text/plain")
        self._send(reply)

    def _send(self, reply: Reply, trickle_s: float = 0.0) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not trickle_s:
                self.wfile.write(reply.body)
                return
            pieces = [reply.body[i : i + 16] for i in range(0, len(reply.body), 16)]
            for piece in pieces:
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(trickle_s / len(pieces))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = _serve
    do_POST = _serve
