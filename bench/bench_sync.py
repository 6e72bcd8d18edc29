"""Benchmark of `GET /users/sync` against a raw SELECT + orjson of the same rows.

    python bench/bench_sync.py [--users 100000]

Creates its own MariaDB database (dropped at the end), fills it with N users
assigned to one application, serves the directory service with uvicorn in a
subprocess, and times a full sync (looping on cursors) and a delta after 1%
of the users changed. Prints figures; asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson
from harness import (
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
    seed_application,
    serve_app,
    service_env,
    use_service,
)

use_service("directory")

from shared.models.base import new_id  # noqa: E402
from shared.settings import Environment, Settings  # noqa: E402
from shared.sync_contract import compute_sync_hash  # noqa: E402
from tests.proc import cpu_seconds  # noqa: E402

KEY_HEADER = "X-Auth-Service-Key"
# executemany turns an INSERT whose VALUES are all placeholders into
# multi-row INSERTs of this many rows.
BATCH = 5000

# The columns the sync `user` object is made of, for the baseline query.
BASELINE_SQL = """
SELECT u.id, u.name, u.mobile_number, u.email, u.emp_id, u.status, u.updated_at, u.sync_hash
FROM sync_entry e JOIN user_account u ON u.id = e.user_id
WHERE e.application_id = %s AND e.is_removed = 0 AND u.is_admin = 0
ORDER BY e.seq
"""


@dataclass
class Run:
    label: str
    rows: int
    seconds: float
    cpu_seconds: float
    pages: int = 1
    peak_rss_mib: float | None = None
    cursor: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def seed(db: str, users: int) -> tuple[str, str, list[str]]:
    """One application with an API key, and `users` users assigned to it, in the feed."""
    now = db_now()
    conn = connect(db)
    with conn.cursor() as cur:
        app_id, key = seed_application(cur, now)
        user_rows, entry_rows, user_ids = [], [], []
        for n in range(1, users + 1):
            user_id = str(new_id())
            fields = {
                "name": f"Bench User {n}",
                "email": f"user{n}@bench.example.com",
                "mobile_number": f"+1415{n:07d}",
                "emp_id": f"E{n:07d}" if n % 3 else None,
                "status": "disabled" if n % 50 == 0 else "active",
            }
            hashed = compute_sync_hash(fields)
            user_rows.append((user_id, *fields.values(), False, False, hashed, now, now))
            entry_rows.append((app_id, user_id, n, False))
            user_ids.append(user_id)
        for batch in batches(user_rows, BATCH):
            cur.executemany(
                "INSERT INTO user_account (id, name, email, mobile_number, emp_id, status,"
                " is_admin, mfa_enabled, sync_hash, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                batch,
            )
        for batch in batches([(user_id, app_id, now) for user_id in user_ids], BATCH):
            cur.executemany(
                "INSERT INTO assignment (user_id, application_id, created_at) VALUES (%s, %s, %s)",
                batch,
            )
        for entries in batches(entry_rows, BATCH):
            cur.executemany(
                "INSERT INTO sync_entry (application_id, user_id, seq, is_removed)"
                " VALUES (%s, %s, %s, %s)",
                entries,
            )
        cur.execute("UPDATE sync_counter SET value = %s WHERE id = 1", (users,))
    conn.commit()
    conn.close()
    return app_id, key, user_ids


def edit_some(db: str, app_id: str, user_ids: list[str], share: float) -> int:
    """Rename a share of the users the way the directory does: new hash, new seq."""
    chosen = user_ids[:: int(1 / share)]
    now = db_now()
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute("SELECT value FROM sync_counter WHERE id = 1 FOR UPDATE")
        (first,) = cur.fetchone()
        for batch_start in range(0, len(chosen), BATCH):
            batch = chosen[batch_start : batch_start + BATCH]
            cur.executemany(
                "UPDATE user_account SET name = CONCAT(name, ' (edited)'), updated_at = %s"
                " WHERE id = %s",
                [(now, user_id) for user_id in batch],
            )
            cur.executemany(
                "UPDATE sync_entry SET seq = %s WHERE application_id = %s AND user_id = %s",
                [
                    (first + batch_start + offset + 1, app_id, user_id)
                    for offset, user_id in enumerate(batch)
                ],
            )
        cur.execute("UPDATE sync_counter SET value = %s WHERE id = 1", (first + len(chosen),))
        # Keep sync_hash true to the edited fields, as the directory would.
        cur.execute(
            "SELECT id, name, mobile_number, email, emp_id, status FROM user_account"
            " WHERE name LIKE %s",
            ("% (edited)",),
        )
        rehash = [
            (compute_sync_hash(dict(zip(MAPPED, row[1:], strict=True))), row[0])
            for row in cur.fetchall()
        ]
        cur.executemany("UPDATE user_account SET sync_hash = %s WHERE id = %s", rehash)
    conn.commit()
    conn.close()
    return len(chosen)


MAPPED = ("name", "mobile_number", "email", "emp_id", "status")


def pull(
    client: httpx.Client, key: str, limit: int, since: str | None = None
) -> tuple[int, int, str, float]:
    """Loop on cursors until has_more is false: (users, pages, cursor, seconds)."""
    rows = pages = 0
    started = time.perf_counter()
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if since is not None:
            params["since"] = since
        response = client.get("/users/sync", params=params, headers={KEY_HEADER: key})
        response.raise_for_status()
        body = orjson.loads(response.content)
        rows += len(body["users"])
        pages += 1
        since = body["next_cursor"]
        if not body["has_more"]:
            return rows, pages, since, time.perf_counter() - started


def baseline(db: str, app_id: str) -> Run:
    """The floor: the same rows in one SELECT, serialised with orjson, no HTTP."""
    conn = connect(db)
    started, cpu = time.perf_counter(), time.process_time()
    with conn.cursor() as cur:
        cur.execute(BASELINE_SQL, (app_id,))
        rows = cur.fetchall()
        body = orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    assert body
    return Run("raw SELECT + orjson (baseline)", len(rows), seconds, cpu)


def measured_pull(
    server_pid: int,
    client: httpx.Client,
    key: str,
    label: str,
    limit: int,
    since: str | None = None,
) -> Run:
    peak_known = reset_peak_rss(server_pid)
    cpu = cpu_seconds(server_pid)
    rows, pages, cursor, seconds = pull(client, key, limit, since)
    cpu = cpu_seconds(server_pid) - cpu
    peak = peak_rss_mib(server_pid) if peak_known else None
    return Run(label, rows, seconds, cpu, pages, peak, cursor)


def best_of(repeat: int, measure: Callable[[], Run]) -> Run:
    """The fastest of `repeat` runs (the machine is shared), with the highest peak RSS."""
    runs = [measure() for _ in range(repeat)]
    best = min(runs, key=lambda run: run.seconds)
    peaks = [run.peak_rss_mib for run in runs if run.peak_rss_mib]
    best.peak_rss_mib = max(peaks) if peaks else None
    return best


def table(runs: list[Run], floor: Run, idle_mib: float) -> str:
    columns = ["run", "rows", "pages", "seconds", "rows/s", "x baseline", "CPU s"]
    columns += ["x baseline CPU", "server peak RSS (MiB)"]
    rows = []
    for run in runs:
        same = run.rows == floor.rows
        ratio = f"{run.seconds / floor.seconds:.2f}" if same else "-"
        cpu_ratio = f"{run.cpu_seconds / floor.cpu_seconds:.2f}" if same else "-"
        cells = [run.label, run.rows, run.pages, f"{run.seconds:.2f}", f"{run.rate:,.0f}", ratio]
        cells += [f"{run.cpu_seconds:.2f}", cpu_ratio, number_or_dash(run.peak_rss_mib, ".1f")]
        rows.append(cells)
    idle = f"\nServer RSS when idle, after warm-up: {idle_mib:.1f} MiB."
    return markdown_table(columns, rows) + "\n" + idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()
    max_limit = Settings(env=Environment.TEST).sync_max_limit

    with scratch_database() as (db, url), redis_prefix() as prefix:
        started = time.perf_counter()
        app_id, key, user_ids = seed(db, args.users)
        print(f"seeded {args.users} users in {time.perf_counter() - started:.1f}s", flush=True)
        env = service_env("directory", url, prefix)
        with (
            serve_app("directory.main:app", env, "/directory/healthz") as (base, server),
            httpx.Client(base_url=base, timeout=120) as client,
        ):
            # Warm-up (imports, key cache, connection pool): one small page.
            client.get("/users/sync", params={"limit": 10}, headers={KEY_HEADER: key})
            idle = rss_mib(server.pid)
            floor = best_of(args.repeat, lambda: baseline(db, app_id))
            full = best_of(
                args.repeat,
                lambda: measured_pull(
                    server.pid, client, key, f"full sync, limit {max_limit}", max_limit
                ),
            )
            small = best_of(
                args.repeat,
                lambda: measured_pull(server.pid, client, key, "full sync, limit 1000", 1000),
            )
            edited = edit_some(db, app_id, user_ids, 0.01)
            delta = best_of(
                args.repeat,
                lambda: measured_pull(
                    server.pid,
                    client,
                    key,
                    f"delta after editing {edited} users",
                    max_limit,
                    full.cursor,
                ),
            )

    print()
    print(table([floor, full, small, delta], floor, idle))
    assert delta.rows == edited, f"delta returned {delta.rows} users, expected {edited}"


if __name__ == "__main__":
    main()
