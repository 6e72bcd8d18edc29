"""Benchmark of the audit pipeline: stream ingest beside a raw INSERT, and list queries.

    python bench/bench_audit.py [--events 50000] [--rows 1000000] [--consumers 1 2]

Creates its own MariaDB database (dropped at the end) and Redis prefix.
1. Ingest: the same events once as a raw batched INSERT (pymysql executemany,
   500 rows a batch, the consumer's batch size) and then through the real path,
   `python -m audit.consumer` processes storing what is XADDed to the stream:
   once as a backlog waiting before they start, once produced while they run
   (timed from the first XADD until the last entry is acknowledged, i.e.
   committed). Also the consumers' CPU per event.
2. List latency: `--rows` events spread over a year, then p50/p95 of typical
   `GET /audit/events` queries (the repository's exact SQL, 51 rows a page).
Prints figures; asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import redis
from harness import (
    REDIS_URL,
    ROOT,
    batches,
    connect,
    markdown_table,
    redis_prefix,
    scratch_database,
    service_env,
    stop_processes,
    use_service,
)

use_service("audit")

from audit.events.repository import EventFilter, Position, page_events  # noqa: E402
from audit.store import prepare_event  # noqa: E402
from audit.usage.repository import usage_rows  # noqa: E402
from shared.audit import AuditRecord, EventType, Outcome  # noqa: E402
from shared.db import create_db_engine, create_session_factory  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.proc import cpu_seconds  # noqa: E402

INGEST_BATCH = 500
LOAD_BATCH = 5000
QUERY_RUNS = 30
COLUMNS = (
    "uuid",
    "occurred_at",
    "type",
    "outcome",
    "actor_type",
    "actor_id",
    "actor_name",
    "subject_user_id",
    "application_id",
    "effective_ip",
    "forwarded_ip",
    "remote_addr",
    "user_agent",
    "details",
)
INSERT_SQL = (
    f"INSERT INTO audit_event ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
)

APPS = [str(uuid.UUID(int=n + 1)) for n in range(50)]
USERS = [str(uuid.UUID(int=10_000 + n)) for n in range(10_000)]
IPS = [f"10.{n // 250}.{n % 250}.{n % 7 + 1}" for n in range(1000)]
# Roughly what a busy deployment logs: mostly app traffic, some denials and sign-ins.
MIX = [
    (EventType.API_CALL, 70),
    (EventType.API_DENIED_IP, 4),
    (EventType.API_DENIED_KEY, 3),
    (EventType.API_DENIED_APP_DISABLED, 1),
    (EventType.LOGIN_SUCCEEDED, 8),
    (EventType.LOGIN_FAILED, 3),
    (EventType.OTP_SENT, 6),
    (EventType.TOKEN_REFRESHED, 4),
    (EventType.ADMIN_USER_UPDATED, 1),
]
TYPES = [t for t, weight in MIX for _ in range(weight)]


def event_fields(rng: random.Random) -> dict[str, Any]:
    event = rng.choice(TYPES)
    app = None if event is EventType.API_DENIED_KEY else rng.choice(APPS)
    ip = rng.choice(IPS)
    return {
        "type": event,
        "outcome": Outcome.DENIED if event.startswith("api.denied") else Outcome.SUCCESS,
        "actor_type": "app",
        "actor_id": app,
        "actor_name": f"app-{app[-4:]}" if app else None,
        "subject_user_id": rng.choice(USERS) if app else None,
        "application_id": app,
        "effective_ip": ip,
        "forwarded_ip": f"{ip}, 172.18.0.2",
        "remote_addr": "172.18.0.2",
        "user_agent": "bench/1.0",
        "details": {"method": "POST", "path": "/auth/otp/verify"},
    }


def make_record(rng: random.Random, occurred_at: datetime) -> AuditRecord:
    return AuditRecord(occurred_at=occurred_at, **event_fields(rng))


def quick_params(rng: random.Random, naive_utc: datetime) -> tuple[Any, ...]:
    """What raw_params(make_record(...)) gives, several times faster (for the 1M-row load)."""
    fields = event_fields(rng)
    fields["uuid"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    fields["occurred_at"] = naive_utc
    fields["details"] = orjson.dumps(fields["details"]).decode()
    return tuple(fields[c] for c in COLUMNS)


def raw_params(record: AuditRecord) -> tuple[Any, ...]:
    row = prepare_event(record).row
    row["occurred_at"] = row["occurred_at"].astimezone(UTC).replace(tzinfo=None)
    row["details"] = orjson.dumps(row["details"]).decode()
    return tuple(row[c] for c in COLUMNS)


def count_rows(db: str) -> int:
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM audit_event")
        (count,) = cur.fetchone()
    conn.close()
    return int(count)


def empty_tables(db: str) -> None:
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute("TRUNCATE TABLE audit_event")
        cur.execute("TRUNCATE TABLE audit_usage")
    conn.commit()
    conn.close()


def raw_insert(db: str, records: list[AuditRecord]) -> tuple[float, float]:
    """(seconds, CPU seconds) of inserting the rows, prepared beforehand."""
    params = [raw_params(r) for r in records]
    conn = connect(db)
    cpu = time.process_time()
    started = time.perf_counter()
    with conn.cursor() as cur:
        for batch in batches(params, INGEST_BATCH):
            cur.executemany(INSERT_SQL, batch)
            conn.commit()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    return seconds, cpu


@contextlib.contextmanager
def consumers(
    url: str, prefix: str, count: int, linger_ms: int | None = None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, **service_env("audit", url, prefix)}
    if linger_ms is not None:
        env["IDENTITY_AUDIT_BATCH_LINGER_MS"] = str(linger_ms)
    command = [sys.executable, "-m", "audit.consumer"]
    processes = [subprocess.Popen(command, env=env, cwd=ROOT) for _ in range(count)]
    try:
        yield processes
    finally:
        stop_processes(processes, timeout=15)


def produce(client: redis.Redis, stream: str, payloads: list[dict[str, bytes]]) -> float:
    started = time.perf_counter()
    for batch in batches(payloads, INGEST_BATCH):
        pipe = client.pipeline(transaction=False)
        for fields in batch:
            pipe.xadd(stream, fields)  # type: ignore[arg-type]
        pipe.execute()
    return time.perf_counter() - started


def stream_ingest(
    db: str, url: str, records: list[AuditRecord], count: int, backlog: bool
) -> tuple[float, float, float]:
    """(seconds to XADD, seconds until the consumers acknowledged the last entry, their CPU).

    `backlog`: the events wait in the stream before the consumers start (a
    consumer coming back after downtime); otherwise they are produced while
    the consumers run, and the clock starts at the first XADD.
    """
    payloads = [r.to_stream() for r in records]
    with redis_prefix() as prefix, contextlib.closing(redis.Redis.from_url(REDIS_URL)) as client:
        stream = f"{prefix}audit:events"
        if backlog:
            client.xgroup_create(stream, "audit", id="0", mkstream=True)
            xadd_seconds = produce(client, stream, payloads)
        with consumers(url, prefix, count) as processes:
            # Wait until every consumer has joined the group, so start-up is not timed.
            while not client.exists(stream) or len(client.xinfo_consumers(stream, "audit")) < count:
                time.sleep(0.01)
            cpu_before = sum(cpu_seconds(p.pid) for p in processes)
            started = time.perf_counter()
            if not backlog:
                xadd_seconds = produce(client, stream, payloads)
            # Acknowledged means committed; entries are deleted as they are acknowledged.
            while client.xlen(stream) or client.xpending(stream, "audit")["pending"]:
                time.sleep(0.01)
            seconds = time.perf_counter() - started
            cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu_before
    stored = count_rows(db)
    assert stored == len(records), f"{stored} rows stored of {len(records)}"
    return xadd_seconds, seconds, cpu


def steady_ingest(
    db: str,
    url: str,
    records: list[AuditRecord],
    count: int,
    linger_ms: int,
    rate: int,
    seconds: float,
) -> tuple[int, float, float, float]:
    """Events XADDed at a steady `rate` for `seconds` (every 10 ms, a slice) while consumers run.

    Returns (events, consumer CPU seconds, mean seconds an event waited in the
    stream before its batch was committed (Little's law: the mean of the entries
    not yet acknowledged, sampled every tick, over the rate), seconds from the
    last XADD until everything was acknowledged).
    """
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    payloads = [r.to_stream() for r in records]
    with redis_prefix() as prefix, contextlib.closing(redis.Redis.from_url(REDIS_URL)) as client:
        stream = f"{prefix}audit:events"
        client.xgroup_create(stream, "audit", id="0", mkstream=True)
        with consumers(url, prefix, count, linger_ms) as processes:
            while len(client.xinfo_consumers(stream, "audit")) < count:
                time.sleep(0.01)
            time.sleep(1.5)  # past their first (empty) reads and the claim of abandoned entries
            cpu_before = sum(cpu_seconds(p.pid) for p in processes)
            sent, waiting, started = 0, [], time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds:
                due = min(len(payloads), round(elapsed / tick + 1) * per_tick)
                pipe = client.pipeline(transaction=False)
                for fields in payloads[sent:due]:
                    pipe.xadd(stream, fields)  # type: ignore[arg-type]
                pipe.xlen(stream)
                waiting.append(pipe.execute()[-1])
                sent = due
                time.sleep(max(0.0, started + (len(waiting)) * tick - time.perf_counter()))
            last_xadd = time.perf_counter()
            while client.xlen(stream) or client.xpending(stream, "audit")["pending"]:
                time.sleep(0.005)
            drained = time.perf_counter() - last_xadd
            cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu_before
    stored = count_rows(db)
    assert stored == sent, f"{stored} rows stored of {sent}"
    return sent, cpu, statistics.fmean(waiting) / rate, drained


def load_rows(db: str, rows: int) -> tuple[float, datetime]:
    """`rows` events over the last 365 days, inserted in executemany batches."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    naive_now = now.replace(tzinfo=None)
    span = 365 * 24 * 3600
    conn = connect(db)
    started = time.perf_counter()
    with conn.cursor() as cur:
        for start in range(0, rows, LOAD_BATCH):
            size = min(LOAD_BATCH, rows - start)
            # Oldest first, as events arrive: each batch covers the next slice of the year.
            newest = span * (1 - (start + size) / rows)
            width = span * size / rows
            offsets = sorted((newest + rng.random() * width for _ in range(size)), reverse=True)
            batch = [quick_params(rng, naive_now - timedelta(seconds=o)) for o in offsets]
            cur.executemany(INSERT_SQL, batch)
            conn.commit()
        cur.execute("ANALYZE TABLE audit_event")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, now


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_query(run: Callable[[], object]) -> tuple[float, float]:
    run()  # warm the buffer pool and the statement cache
    samples = []
    for _ in range(QUERY_RUNS):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def list_latency(url: str, now: datetime) -> list[tuple[str, float, float]]:
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    app, user, ip = APPS[3], USERS[42], IPS[17]
    week = now - timedelta(days=7)
    second_page: Position | None = None
    with factory() as session:
        rows = page_events(session, EventFilter(application_id=app), None, 50)
        second_page = Position(rows[-1].occurred_at, rows[-1].id)
    cases: list[tuple[str, EventFilter, Position | None]] = [
        ("newest 50, no filter", EventFilter(), None),
        ("type = ip_rejected", EventFilter(types=("api.denied.ip_rejected",)), None),
        (
            "3 denied types",
            EventFilter(
                types=(
                    "api.denied.ip_rejected",
                    "api.denied.invalid_key",
                    "api.denied.app_disabled",
                )
            ),
            None,
        ),
        ("application", EventFilter(application_id=app), None),
        ("application, page 2 (cursor)", EventFilter(application_id=app), second_page),
        ("user", EventFilter(user_id=user), None),
        ("ip", EventFilter(ip=ip), None),
        ("type = api.call, last 7 days", EventFilter(types=("api.call",), since=week), None),
        ("login.failed for a user", EventFilter(types=("login.failed",), user_id=user), None),
        ("outcome = denied", EventFilter(outcome="denied"), None),
        ("outcome = failure (no such events)", EventFilter(outcome="failure"), None),
        (
            "rare: admin.user.updated, 1 day",
            EventFilter(types=("admin.user.updated",), since=now - timedelta(days=1)),
            None,
        ),
    ]
    results = []
    with factory() as session:
        for label, f, after in cases:

            def run(f: EventFilter = f, after: Position | None = after) -> object:
                rows = page_events(session, f, after, 51)
                session.expunge_all()
                return rows

            results.append((label, *time_query(run)))
        results.append(("usage counters", *time_query(lambda: usage_rows(session, None))))
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steady-rate", type=int, default=500, help="events/s of the steady run")
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    args = parser.parse_args()
    default_linger_ms = Settings.model_fields["audit_batch_linger_ms"].default
    rng = random.Random(1)
    now = datetime.now(UTC)
    records = [make_record(rng, now) for _ in range(args.events)]

    with scratch_database("audit") as (db, url):
        raw_seconds, raw_cpu = raw_insert(db, records)
        ingest = []
        for backlog in (True, False):
            for count in args.consumers:
                empty_tables(db)
                ingest.append((backlog, count, *stream_ingest(db, url, records, count, backlog)))
        steady = []
        for count in args.consumers:
            for linger_ms in (0, default_linger_ms):
                empty_tables(db)
                figures = steady_ingest(
                    db, url, records, count, linger_ms, args.steady_rate, args.steady_seconds
                )
                steady.append((count, linger_ms, *figures))
        empty_tables(db)
        load_seconds, loaded_at = load_rows(db, args.rows)
        print(f"loaded {args.rows:,} rows in {load_seconds:.1f}s", flush=True)
        latency = list_latency(url, loaded_at)

    raw_rate = args.events / raw_seconds
    print()
    print(f"Ingest of {args.events:,} events ({INGEST_BATCH} per batch):\n")
    rows = [
        [
            "raw batched INSERT, one connection",
            f"{raw_seconds:.2f}",
            f"{raw_rate:,.0f}",
            "1.00",
            f"{raw_cpu / args.events * 1e6:.0f}",
        ]
    ]
    for backlog, count, _, seconds, cpu in ingest:
        rate = args.events / seconds
        how = "backlog drained by" if backlog else "XADD while running"
        rows.append(
            [
                f"stream: {how} {count} consumer(s)",
                f"{seconds:.2f}",
                f"{rate:,.0f}",
                f"{rate / raw_rate:.2f}",
                f"{cpu / args.events * 1e6:.0f}",
            ]
        )
    print(markdown_table(["path", "seconds", "events/s", "x raw", "client CPU µs/event"], rows))
    steady_run = f"{args.steady_rate:,} events/s for {args.steady_seconds:g} s"
    print(f"\nA steady {steady_run}, as services emit them:\n")
    rows = [
        [
            f"{count} consumer(s), linger {linger_ms} ms",
            f"{sent:,}",
            f"{cpu / sent * 1e6:.0f}",
            f"{cpu / args.steady_seconds:.2f}",
            f"{wait * 1000:.0f}",
            f"{drained * 1000:.0f}",
        ]
        for count, linger_ms, sent, cpu, wait, drained in steady
    ]
    columns = ["consumers", "events", "CPU µs/event", "CPUs busy", "mean wait ms", "drained ms"]
    print(markdown_table(columns, rows))
    xadd_rate = args.events / min(x for _, _, x, _, _ in ingest)
    print(f"\nThe producer alone (pipelined XADD) ran at up to {xadd_rate:,.0f} events/s.")
    print(f"\nList queries over {args.rows:,} events ({QUERY_RUNS} runs each):\n")
    rows = [[label, f"{p50:.1f}", f"{p95:.1f}"] for label, p50, p95 in latency]
    print(markdown_table(["query", "p50 ms", "p95 ms"], rows))


if __name__ == "__main__":
    main()
