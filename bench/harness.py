"""What every benchmark script needs around its measurement, and nothing about the measurement.

A scratch MariaDB database and Redis prefix (both removed at the end), a
service served by uvicorn in a subprocess, a process's peak RSS from /proc
(its CPU time and the process tree: `tests/proc.py`, shared with the tests),
and markdown tables. The scripts run as `python bench/bench_x.py`,
so this module is imported as `harness` from their own directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
import pymysql
import redis

ROOT = Path(__file__).resolve().parent.parent
# `shared` is imported from the working tree, like the services do.
sys.path.insert(0, str(ROOT))

from shared.migrate import upgrade  # noqa: E402
from shared.models.base import new_id  # noqa: E402
from shared.security.api_keys import generate_api_key  # noqa: E402

MYSQL_URL = os.environ.get("IDENTITY_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("IDENTITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

T = TypeVar("T")


# --- import paths -------------------------------------------------------------


def service_paths(service: str) -> list[str]:
    """The repository root and `services/<service>`: what the service's code imports from."""
    return [str(ROOT), str(ROOT / "services" / service)]


def use_service(service: str) -> None:
    """Make the service's package importable in this process, as in its own."""
    sys.path[:0] = service_paths(service)


# --- MariaDB ------------------------------------------------------------------


class Database(NamedTuple):
    name: str
    url: str


def mysql_params() -> dict[str, Any]:
    parts = urlsplit(MYSQL_URL.replace("mysql+pymysql", "mysql"))
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }


def connect(database: str | None = None, *, autocommit: bool = False) -> pymysql.Connection[Any]:
    return pymysql.connect(
        database=database, charset="utf8mb4", autocommit=autocommit, **mysql_params()
    )


@contextlib.contextmanager
def scratch_database(label: str = "") -> Iterator[Database]:
    """A new database with the whole schema migrated; dropped on exit."""
    name = f"identity_bench_{label + '_' if label else ''}{uuid.uuid4().hex[:12]}"
    admin = connect(autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        database = Database(name, f"{MYSQL_URL}/{name}")
        upgrade(database.url)
        yield database
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def db_now() -> datetime:
    """Now as the DATETIME columns hold it: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def batches(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed_application(cur: pymysql.cursors.Cursor, now: datetime) -> tuple[str, str]:
    """An active `bench-app` with one API key, callable from loopback: (its id, the key)."""
    app_id, key = str(new_id()), generate_api_key()
    cur.execute(
        "INSERT INTO application (id, name, status, created_at, updated_at)"
        " VALUES (%s, 'bench-app', 'active', %s, %s)",
        (app_id, now, now),
    )
    cur.execute(
        "INSERT INTO allowed_network (application_id, cidr, position)"
        " VALUES (%s, '127.0.0.1/32', 0)",
        (app_id,),
    )
    cur.execute(
        "INSERT INTO api_key (id, application_id, prefix, key_hash, status, created_at)"
        " VALUES (%s, %s, %s, %s, 'active', %s)",
        (str(new_id()), app_id, key.prefix, key.key_hash, now),
    )
    return app_id, key.plaintext


# --- Redis --------------------------------------------------------------------


@contextlib.contextmanager
def redis_prefix(label: str = "") -> Iterator[str]:
    """A fresh key prefix; every key under it is deleted on exit."""
    prefix = f"identity-bench-{label + '-' if label else ''}{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        with contextlib.suppress(redis.RedisError):
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=prefix + "*", count=1000):
                client.delete(key)
            client.close()


# --- processes ----------------------------------------------------------------


class Server(NamedTuple):
    base_url: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(
    service: str,
    database_url: str,
    prefix: str,
    *,
    environment: str = "test",
    secret_key: str | None = None,
) -> dict[str, str]:
    """The IDENTITY_ settings (and import path) for a service process on the scratch stores."""
    return {
        "IDENTITY_ENV": environment,
        "IDENTITY_DATABASE_URL": database_url,
        "IDENTITY_REDIS_URL": REDIS_URL,
        "IDENTITY_REDIS_PREFIX": prefix,
        "IDENTITY_SECRET_KEY": secret_key or secrets.token_urlsafe(32),
        "IDENTITY_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(service_paths(service)),
    }


def stop_processes(
    processes: Sequence[subprocess.Popen[bytes]], timeout: float, *, whole_group: bool = False
) -> None:
    """SIGTERM all (a graceful stop), then SIGKILL what is still running after `timeout`.

    `whole_group` kills the process group, for processes started in a new
    session that fork children of their own.
    """
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if whole_group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
            process.wait()


@contextlib.contextmanager
def serve_app(
    target: str, env: Mapping[str, str], health_path: str, options: Sequence[str] = ()
) -> Iterator[Server]:
    """`uvicorn <target>` on a free loopback port, once `health_path` answers 200."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", *options]
    # The server's stdout (a setup token, say) goes to stderr, out of the printed figures.
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT, stdout=sys.stderr)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base_url + health_path, timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{target} did not start")
            time.sleep(0.2)
        yield Server(base_url, process)
    finally:
        stop_processes([process], timeout=15)


# --- /proc --------------------------------------------------------------------


def machine_busy_share(seconds: float = 1.0) -> float:
    """The share of all CPUs' time spent busy over the next `seconds` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    total_before, idle_before = sample()
    time.sleep(seconds)
    total_after, idle_after = sample()
    total = max(total_after - total_before, 1)
    return 1 - (idle_after - idle_before) / total


def settle(threshold: float = 0.15, longest: float = 90.0) -> float:
    """Wait until the machine is nearly idle (a worker or consumer catching up on a
    backlog would otherwise load the next measurement); returns the seconds waited."""
    start = time.monotonic()
    while machine_busy_share() > threshold and time.monotonic() - start < longest:
        pass
    return time.monotonic() - start


class HasRate(Protocol):
    @property
    def rate(self) -> float: ...


R = TypeVar("R", bound=HasRate)

# Each wrk connection waits a random time after every answer, exponentially distributed
# around %(ms)d ms: arrivals as from many independent users, a steady rate below the
# maximum. (A fixed wait lines the connections up into bursts that queue behind each other.)
# Each thread's Lua state seeds its own generator from its own table address.
PACED_SCRIPT = """
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%%x+)"), 16) %% 1000003)
end
function delay()
  return math.floor(-math.log(1 - math.random()) * %(ms)d)
end
"""


def paced_run(
    measure: Callable[[int], R], max_rate: float, pause_ms: int, share: float = 0.7
) -> tuple[R, int]:
    """`measure(connections)` at about `share` of `max_rate`, and the connections it took.

    wrk is closed-loop: a connection waits for its answer, then `pause_ms` (PACED_SCRIPT).
    A trial run shows what one paced connection asks for; the second uses enough of them.
    """
    trial_connections = max(1, round(share * max_rate * (pause_ms + 2) / 1000))
    trial = measure(trial_connections)
    per_connection = max(trial.rate / trial_connections, 1.0)
    connections = max(1, round(share * max_rate / per_connection))
    return measure(connections), connections


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing for pid {pid}")


def rss_mib(pid: int) -> float:
    return _status_kib(pid, "VmRSS") / 1024


def peak_rss_mib(pid: int) -> float:
    """The highest RSS since the process started or since `reset_peak_rss`."""
    return _status_kib(pid, "VmHWM") / 1024


def reset_peak_rss(pid: int) -> bool:
    """Reset the peak to the current RSS (Linux >= 4.0), so each run reports its own peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- output -------------------------------------------------------------------


def number_or_dash(value: float | None, spec: str) -> str:
    """`value` formatted with `spec`, or "-" when it was not measured."""
    return "-" if value is None else format(value, spec)


def markdown_row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def markdown_header(columns: Sequence[str], align: str = "") -> str:
    """Header and rule; `align` has an "l" or "r" per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(columns) - 1)
    rule = "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"
    return markdown_row(columns) + "\n" + rule


def markdown_table(
    columns: Sequence[str], rows: Iterable[Iterable[object]], align: str = ""
) -> str:
    return "\n".join([markdown_header(columns, align), *(markdown_row(row) for row in rows)])


# --- wrk ----------------------------------------------------------------------


class WrkFigures(NamedTuple):
    rate: float  # requests/s
    p50_ms: float | None
    p99_ms: float | None
    errors: int  # non-2xx answers plus socket errors (connect, read, write, timeout)


def _wrk_millis(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def start_wrk(
    url: str, seconds: float, connections: int, threads: int, args: Sequence[str] = ()
) -> subprocess.Popen[str]:
    """`wrk --latency` in the background, so several can run at once; read it with `wrk_result`."""
    threads = max(1, min(threads, connections))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    command += ["--latency", *args, url]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wrk_result(process: subprocess.Popen[str]) -> WrkFigures:
    output, stderr = process.communicate()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if process.returncode != 0 or rate is None:
        raise RuntimeError(f"wrk failed: {stderr or output}")
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkFigures(
        rate=float(rate.group(1)),
        p50_ms=_wrk_millis(p50.group(1)) if p50 else None,
        p99_ms=_wrk_millis(p99.group(1)) if p99 else None,
        errors=(int(failed.group(1)) if failed else 0)
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
    )


def combined(figures: Sequence[WrkFigures]) -> WrkFigures:
    """Several wrk runs at once (one per replica): rates add up; the worst p50/p99 is kept."""
    p50s = [f.p50_ms for f in figures if f.p50_ms is not None]
    p99s = [f.p99_ms for f in figures if f.p99_ms is not None]
    return WrkFigures(
        rate=sum(f.rate for f in figures),
        p50_ms=max(p50s) if p50s else None,
        p99_ms=max(p99s) if p99s else None,
        errors=sum(f.errors for f in figures),
    )
