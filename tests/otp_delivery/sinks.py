"""Local stand-ins for SMS APIs and mail servers that record what they receive.

`HttpSink` answers like an SMS API (scripted statuses: 500 twice then 200,
401, a redirect); `SmtpSink` is a real aiosmtpd server that can stall once
on RCPT, so a test can kill a worker in the middle of a send.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy; its value. Waiting is not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpSink:
    """Records every request; answers with scripted statuses, then `default_status`."""

    default_status: int = 200
    default_body: dict[str, Any] = field(default_factory=lambda: {"return": True, "ok": True})
    requests: list[Recorded] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with sink._lock:
                    sink.requests.append(
                        Recorded(self.command, self.path, dict(self.headers.items()), body)
                    )
                    status = sink.script.pop(0) if sink.script else sink.default_status
                payload = json.dumps(
                    sink.default_body if status < 300 else {"return": False, "status_code": status}
                ).encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", sink.url + "/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _handle  # noqa: N815 - http.server hook names

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self.script[:] = list(statuses)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.sink.stall_next_rcpt.is_set():
            self.sink.stall_next_rcpt.clear()
            self.sink.stalled.set()
            # Hold the client here (the message is not accepted yet) until released.
            for _ in range(600):
                if self.sink.release.is_set():
                    break
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.sink.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.stall_next_rcpt = threading.Event()
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self.release.set()
        self._controller.stop()
