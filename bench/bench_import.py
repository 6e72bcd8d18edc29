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
import csv
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import (
    REDIS_URL,
    batches,
    connect,
    db_now,
    markdown_table,
    number_or_dash,
    peak_rss_mib,
    redis_prefix,
    reset_peak_rss,
    rss_mib,
    scratch_database,
    serve_app,
    service_env,
    use_service,
)
from pydantic import SecretStr

use_service("directory")

from shared.models import Application, UserAccount  # noqa: E402
from shared.models.base import new_id  # noqa: E402
from shared.runtime import Runtime  # noqa: E402
from shared.settings import Environment, Settings  # noqa: E402
from shared.signing_keys import ensure_signing_keys  # noqa: E402
from shared.sync_contract import compute_sync_hash  # noqa: E402
from shared.tokens import CONSOLE_AUDIENCE  # noqa: E402

BATCH = 1000
APP_NAME = "bench-app"


@dataclass
class Run:
    label: str
    rows: int
    seconds: float
    peak_rss_mib: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


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
            ensure_signing_keys(session, runtime.box)
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


def measured_upload(
    server_pid: int, client: httpx.Client, path: Path, label: str, rows: int
) -> Run:
    peak_known = reset_peak_rss(server_pid)
    started = time.perf_counter()
    with path.open("rb") as upload:
        response = client.post(
            "/directory/users/import", files={"file": (path.name, upload, "text/csv")}
        )
    seconds = time.perf_counter() - started
    peak = peak_rss_mib(server_pid) if peak_known else None
    if response.status_code != 200:
        return Run(
            label, rows, seconds, peak, f"HTTP {response.status_code}: {response.text[:200]}"
        )
    body = response.json()
    note = f"created {body['created']}, updated {body['updated']}, unchanged {body['unchanged']}"
    return Run(label, rows, seconds, peak, note)


def baseline(db: str, rows: int) -> Run:
    """The floor: the same user rows, batched executemany into a fresh copy of the table."""
    now = db_now()
    values = []
    for n in range(rows):
        name, email, mobile, emp_id = person(n)
        fields = {"name": name, "email": email, "mobile_number": mobile, "emp_id": emp_id}
        hashed = compute_sync_hash({**fields, "status": "active"})
        values.append((str(new_id()), name, email, mobile, emp_id, hashed, now, now))
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE user_account_baseline LIKE user_account")
        started = time.perf_counter()
        for batch in batches(values, BATCH):
            cur.executemany(
                "INSERT INTO user_account_baseline (id, name, email, mobile_number, emp_id,"
                " status, is_admin, mfa_enabled, sync_hash, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, 'active', 0, 0, %s, %s, %s)",
                batch,
            )
        conn.commit()
        seconds = time.perf_counter() - started
    conn.close()
    return Run("raw executemany INSERT (baseline)", rows, seconds, note="user rows only")


def table(runs: list[Run], floor: Run, idle_mib: float) -> str:
    columns = ["run", "rows", "seconds", "rows/s", "speed vs baseline"]
    columns += ["server peak RSS (MiB)", "result"]
    rows = []
    for run in runs:
        peak = number_or_dash(run.peak_rss_mib, ".1f")
        cells = [run.label, run.rows, f"{run.seconds:.2f}", f"{run.rate:,.0f}"]
        cells += [f"{run.rate / floor.rate:.2f}x", peak, run.note]
        rows.append(cells)
    return "\n".join(
        [
            markdown_table(columns, rows, align="lrrrrrl"),
            f"\nServer RSS when idle, after warm-up: {idle_mib:.1f} MiB.",
            "Goal: the first import at >= 0.5x the baseline's rows/s.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--with-applications", action="store_true", help="assign every row to one application"
    )
    args = parser.parse_args()
    secret_key = secrets.token_urlsafe(32)

    with (
        scratch_database("import") as (db, url),
        redis_prefix("import") as prefix,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = service_env("directory", url, prefix, secret_key=secret_key)
        env["IDENTITY_CSV_MAX_ROWS"] = str(max(args.rows, 1))
        env["IDENTITY_CSV_MAX_BYTES"] = str(max(args.rows * 200, 1024 * 1024))
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
            serve_app("directory.main:app", env, "/directory/healthz") as (base, server),
            httpx.Client(base_url=base, timeout=180, headers=headers) as client,
        ):
            # Warm-up: imports, connection pool, signing keys; a one-row file.
            warm = Path(tmp) / "warm.csv"
            warm.write_text("name,email\nWarm Up,warm@bench.example.com\n", encoding="utf-8")
            measured_upload(server.pid, client, warm, "warm-up", 1)
            idle = rss_mib(server.pid)
            first = measured_upload(server.pid, client, path, "import (all created)", args.rows)
            print(f"first import: {first.seconds:.1f}s", flush=True)
            again = measured_upload(
                server.pid, client, path, "same file (all unchanged)", args.rows
            )
            print(f"same file: {again.seconds:.1f}s", flush=True)
            renames = measured_upload(
                server.pid, client, renamed, "every name changed (all updated)", args.rows
            )
        floor = baseline(db, args.rows)

    print()
    print(table([floor, first, again, renames], floor, idle))


if __name__ == "__main__":
    main()
