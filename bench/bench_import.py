"""Benchmark of `POST /directory/users/import` against a raw batched INSERT of the same rows.

    python bench/bench_import.py [--rows 100000] [--with-applications]

Creates its own MariaDB database (dropped at the end), writes N-row CSVs in
a temporary directory, serves the directory service with uvicorn in a
subprocess, and uploads three files: a first import (every row created), the
same file again (every row unchanged) and one with every name changed (every
row updated). Beside them, the baseline: the same user rows inserted into a
fresh copy of `user_account` with batched `executemany`, no validation, no
HTTP. Prints figures; asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pymysql
import redis
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "services" / "directory")]

from shared.migrate import upgrade  # noqa: E402
from shared.models import Application, UserAccount  # noqa: E402
from shared.models.base import new_id  # noqa: E402
from shared.runtime import Runtime  # noqa: E402
from shared.settings import Environment, Settings  # noqa: E402
from shared.sync_contract import compute_sync_hash  # noqa: E402
from shared.tokens import CONSOLE_AUDIENCE, ensure_signing_key  # noqa: E402

MYSQL_URL = os.environ.get("IDENTITY_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("IDENTITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BATCH = 1000
APP_NAME = "bench-app"


@dataclass
class Run:
    label: str
    rows: int
    seconds: float
    peak_rss_kib: int | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def mysql_connect(database: str | None = None, autocommit: bool = False) -> pymysql.Connection:
    parts = urlsplit(MYSQL_URL.replace("mysql+pymysql", "mysql"))
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=database,
        charset="utf8mb4",
        autocommit=autocommit,
    )


@contextlib.contextmanager
def bench_database() -> Iterator[tuple[str, str]]:
    name = f"identity_bench_import_{uuid.uuid4().hex[:12]}"
    admin = mysql_connect(autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield name, f"{MYSQL_URL}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def person(n: int, suffix: str = "") -> tuple[str, str, str, str]:
    """name, email, mobile number (already E.164, so every run stores the same value), emp_id."""
    name = f"Bench User {n}{suffix}"
    return name, f"user{n}@bench.example.com", f"+1415{2000000 + n}", f"E{n:07d}"


def write_csv(path: Path, rows: int, with_applications: bool, suffix: str = "") -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        header = ["name", "email", "mobile_number", "emp_id"]
        writer.writerow(header + (["applications"] if with_applications else []))
        for n in range(rows):
            writer.writerow([*person(n, suffix)] + ([APP_NAME] if with_applications else []))


def prepare(settings: Settings, with_applications: bool) -> str:
    """The signing key, an administrator (and an application); returns an admin token."""
    runtime = Runtime(settings)
    try:
        with runtime.session_factory() as session:
            ensure_signing_key(session, runtime.box)
            fields: dict[str, str | None] = {"name": "Bench Admin", "status": "active"}
            fields |= {"email": "admin@bench.example.com", "mobile_number": None, "emp_id": None}
            admin = UserAccount(**fields, is_admin=True, sync_hash=compute_sync_hash(fields))
            session.add(admin)
            if with_applications:
                session.add(Application(name=APP_NAME))
            session.commit()
        token, _ = runtime.tokens.mint(
            subject=str(admin.id), audience=CONSOLE_AUDIENCE, ttl_seconds=3600
        )
        return token
    finally:
        runtime.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing for pid {pid}")


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so each run reports its own peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextlib.contextmanager
def serve(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "directory.main:app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/directory/healthz", timeout=1).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the directory service did not start")
            time.sleep(0.2)
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def measured_upload(
    server: subprocess.Popen[bytes], client: httpx.Client, path: Path, label: str, rows: int
) -> Run:
    peak_known = reset_peak(server.pid)
    started = time.perf_counter()
    with path.open("rb") as upload:
        response = client.post(
            "/directory/users/import", files={"file": (path.name, upload, "text/csv")}
        )
    seconds = time.perf_counter() - started
    peak = status_kib(server.pid, "VmHWM") if peak_known else None
    if response.status_code != 200:
        return Run(
            label, rows, seconds, peak, f"HTTP {response.status_code}: {response.text[:200]}"
        )
    body = response.json()
    note = f"created {body['created']}, updated {body['updated']}, unchanged {body['unchanged']}"
    return Run(label, rows, seconds, peak, note)


def baseline(db: str, rows: int) -> Run:
    """The floor: the same user rows, batched executemany into a fresh copy of the table."""
    now = datetime.now(UTC).replace(tzinfo=None)
    values = []
    for n in range(rows):
        name, email, mobile, emp_id = person(n)
        fields = {"name": name, "email": email, "mobile_number": mobile, "emp_id": emp_id}
        hashed = compute_sync_hash({**fields, "status": "active"})
        values.append((str(new_id()), name, email, mobile, emp_id, hashed, now, now))
    conn = mysql_connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE user_account_baseline LIKE user_account")
        started = time.perf_counter()
        for start in range(0, rows, BATCH):
            cur.executemany(
                "INSERT INTO user_account_baseline (id, name, email, mobile_number, emp_id,"
                " status, is_admin, mfa_enabled, sync_hash, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, 'active', 0, 0, %s, %s, %s)",
                values[start : start + BATCH],
            )
        conn.commit()
        seconds = time.perf_counter() - started
    conn.close()
    return Run("raw executemany INSERT (baseline)", rows, seconds, note="user rows only")


def table(runs: list[Run], floor: Run, idle_kib: int) -> str:
    lines = [
        "| run | rows | seconds | rows/s | speed vs baseline | server peak RSS (MiB) | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        peak = f"{run.peak_rss_kib / 1024:.1f}" if run.peak_rss_kib else "-"
        lines.append(
            f"| {run.label} | {run.rows} | {run.seconds:.2f} | {run.rate:,.0f} | "
            f"{run.rate / floor.rate:.2f}x | {peak} | {run.note} |"
        )
    lines.append(f"\nServer RSS when idle, after warm-up: {idle_kib / 1024:.1f} MiB.")
    lines.append("Goal: the first import at >= 0.5x the baseline's rows/s.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--with-applications", action="store_true", help="assign every row to one application"
    )
    args = parser.parse_args()
    prefix = f"identity-bench-import-{uuid.uuid4().hex[:12]}:"
    secret_key = secrets.token_urlsafe(32)

    with bench_database() as (db, url), tempfile.TemporaryDirectory() as tmp:
        upgrade(url)
        env = {
            "IDENTITY_ENV": "test",
            "IDENTITY_DATABASE_URL": url,
            "IDENTITY_REDIS_URL": REDIS_URL,
            "IDENTITY_REDIS_PREFIX": prefix,
            "IDENTITY_SECRET_KEY": secret_key,
            "IDENTITY_LOG_LEVEL": "WARNING",
            "IDENTITY_CSV_MAX_ROWS": str(max(args.rows, 1)),
            "IDENTITY_CSV_MAX_BYTES": str(max(args.rows * 200, 1024 * 1024)),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "services" / "directory")]),
        }
        settings = Settings(
            env=Environment.TEST,
            database_url=url,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            secret_key=SecretStr(secret_key),
        )
        token = prepare(settings, args.with_applications)
        path, renamed = Path(tmp) / "users.csv", Path(tmp) / "renamed.csv"
        write_csv(path, args.rows, args.with_applications)
        write_csv(renamed, args.rows, args.with_applications, suffix=" Jr")
        size_mib = path.stat().st_size / 2**20
        print(f"{args.rows} rows, {size_mib:.1f} MiB of CSV", flush=True)
        headers = {"Authorization": f"Bearer {token}"}
        with (
            serve(env) as (base, server),
            httpx.Client(base_url=base, timeout=180, headers=headers) as client,
        ):
            # Warm-up: imports, connection pool, signing keys; a one-row file.
            warm = Path(tmp) / "warm.csv"
            warm.write_text("name,email\nWarm Up,warm@bench.example.com\n", encoding="utf-8")
            measured_upload(server, client, warm, "warm-up", 1)
            idle = status_kib(server.pid, "VmRSS")
            first = measured_upload(server, client, path, "import (all created)", args.rows)
            print(f"first import: {first.seconds:.1f}s", flush=True)
            again = measured_upload(server, client, path, "same file (all unchanged)", args.rows)
            print(f"same file: {again.seconds:.1f}s", flush=True)
            renames = measured_upload(
                server, client, renamed, "every name changed (all updated)", args.rows
            )
        floor = baseline(db, args.rows)
        with contextlib.suppress(redis.RedisError):
            store = redis.Redis.from_url(REDIS_URL)
            for name in store.scan_iter(match=prefix + "*", count=1000):
                store.delete(name)

    print()
    print(table([floor, first, again, renames], floor, idle))


if __name__ == "__main__":
    main()
