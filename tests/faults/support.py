"""Helpers for the fault tests: a Redis and a MariaDB of our own to stop and start, and traffic
that records what it saw."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pymysql
import redis

T = TypeVar("T")


class Response(Protocol):
    """What the tests read of an answer (TestClient's httpx or httpx2 response)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Any: ...

    def json(self) -> Any: ...


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server on a loopback port of its own: the shared one on 6379 is never touched.

    Append-only file with fsync on every write, like docker-compose's `--appendonly yes`
    (which fsyncs every second): a restart keeps what was acknowledged.
    """

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._data_dir = data_dir
        self._durable = durable  # False: nothing on disk, for a server that is only killed
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        if self._durable:
            command += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            command += ["--appendonly", "no"]
        command += ["--dir", str(self._data_dir)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: _answers(client), what="redis-server to answer")
        client.close()

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, their sockets just break."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


class PrivateMariaDB:
    """A mariadbd of its own (new datadir, loopback port, root without a password): the shared
    server on 3306 is never touched, so a test may kill this one."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"mysql+pymysql://root@127.0.0.1:{self.port}/identity"
        self._dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        datadir = self._dir / "data"
        if not datadir.exists():
            install = ["mariadb-install-db", "--no-defaults", f"--datadir={datadir}"]
            install += ["--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"]
            subprocess.run(
                install,
                check=True,
                capture_output=True,
                timeout=60,
            )
        command = ["mariadbd", "--no-defaults", f"--datadir={datadir}", "--user=root"]
        command += [f"--port={self.port}", "--bind-address=127.0.0.1"]
        command += [f"--socket={self._dir / 'mysqld.sock'}", f"--pid-file={self._dir / 'pid'}"]
        command += ["--skip-log-bin", "--innodb-buffer-pool-size=32M"]
        command += [f"--log-error={self._dir / 'error.log'}"]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._answers, what="mariadbd to answer", seconds=30)

    def _answers(self) -> bool:
        try:
            pymysql.connect(
                host="127.0.0.1", port=self.port, user="root", connect_timeout=1
            ).close()
        except pymysql.MySQLError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL, like a crashed host: connections break, nothing is flushed."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def wait_until(condition: Callable[[], T], *, what: str, seconds: float = 15.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def error_of(response: Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def is_unavailable(response: Response) -> bool:
    """The clean answer while a dependency is down: 503 in the envelope, no stack trace."""
    return (
        response.status_code == 503
        and response.json()["error"]["code"] == "unavailable"
        and "Traceback" not in response.text
    )


class Traffic:
    """Calls `request` in a loop on a thread until stopped; counts (label, status) pairs."""

    def __init__(self, requests: dict[str, Callable[[], Response]]) -> None:
        self._requests = requests
        self.seen: Counter[tuple[str, int]] = Counter()
        self.bodies: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-traffic", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for label, request in self._requests.items():
                response = request()
                self.seen[(label, response.status_code)] += 1
                self.bodies.setdefault(response.status_code, response.text)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "a request hung"

    def total(self) -> int:
        return sum(self.seen.values())

    def wait_for_more(self, count: int) -> None:
        start = self.total()
        wait_until(lambda: self.total() >= start + count, what=f"{count} more requests")

    def statuses(self, label: str) -> set[int]:
        return {status for (name, status) in self.seen if name == label}
