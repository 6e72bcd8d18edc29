"""Where an auth endpoint spends its CPU: py-spy samples one auth worker under wrk load.

    python bench/profile_auth.py [--endpoint session|login|refresh|otp|otp-verify]
                                 [--seconds 15] [--top 25] [--cpu-only] [--connections N]

Serves auth with one uvicorn worker (so every sample is from the process
under load), drives `GET /auth/session` (32 connections), `POST /auth/login`
(4 connections, rotating over the bench users), `POST /auth/token/refresh`
(8 connections, a never-used token each time), `POST /auth/otp/request`
(8 connections, rotating over the users; the resend cool-down and hourly caps
lifted, the codes queued for a Celery worker that is not running) or
`POST /auth/otp/verify` (8 connections, each request a code of its own,
stored beforehand as the request endpoint stores one) with wrk and records
the worker with `py-spy record --format raw` (collapsed stacks; argon2's C
code shows as the Python frame that called it). Prints the functions with the most samples
on the stack (inclusive) and at the top of it (self), as shares of all
samples, beside the request rate of the same run and the CPU each process
used per request. Writes the collapsed stacks to
`bench/out/<endpoint>-<date>.txt`, which flamegraph tools (and speedscope) read.
`--cpu-only` leaves py-spy out (it slows the worker) and prints only the rate
and the CPU per request: the figure to compare code before and after.

Needs wrk and py-spy (`pip install -e '.[bench]'`); py-spy needs ptrace rights
(root, or `kernel.yama.ptrace_scope=0`).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import orjson
from bench_auth import (
    BODIES_SCRIPT,
    LOGIN_SCRIPT,
    OTP_LIMITS_LIFTED,
    OTP_SCRIPT,
    PASSWORD,
    USERS,
    lua,
    refresh_bodies,
    seed,
    seed_refresh_tokens,
    session_headers,
    uvicorn_options,
    wrk,
)
from harness import (
    ROOT,
    connect,
    redis_prefix,
    scratch_database,
    serve_app,
    service_env,
)

from auth.otp.store import OtpStore
from shared.redis_client import Keys, create_redis
from shared.security.encryption import SecretBox
from shared.settings import Settings, load_settings
from tests.proc import cpu_seconds

PROFILES = ROOT / "bench" / "out"
REFRESH_TOKENS = 30_000  # more than 17 s of one worker's refreshes use
OTP_CODES = 20_000  # the same for verifications


def frame_name(frame: str) -> str:
    """`handle (starlette/routing.py:123)` -> `handle (starlette/routing.py)`: a function,
    not a line, so its samples add up."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0].rstrip(")")
    path = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", path)
    return f"{name} ({path.removeprefix(str(ROOT) + '/')})"


def summarise(collapsed: str, top: int) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    return total, inclusive.most_common(top), own.most_common(top)


def report(total: int, rows: list[tuple[str, int]], title: str) -> str:
    lines = [f"### {title}", "", "| share of samples | function |", "|---:|---|"]
    lines += [f"| {100 * n / total:.1f}% | `{name}` |" for name, n in rows]
    return "\n".join(lines)


def server_pids() -> dict[str, int]:
    """MariaDB's and Redis's processes on this machine, for their CPU seconds."""
    pids = {}
    for name in ("mariadbd", "redis-server"):
        found = subprocess.run(["pgrep", "-o", "-x", name], capture_output=True, text=True)
        if found.stdout.strip():
            pids[name] = int(found.stdout.split()[0])
    return pids


DEFAULT_CONNECTIONS = {"session": 32, "login": 4, "refresh": 8, "otp": 8, "otp-verify": 8}


@dataclass
class Target:
    """Where the auth worker serves and what the load may use there."""

    base: str
    db: str
    app_id: str
    user_id: str
    key: str
    scratch: Path
    settings: Settings  # the worker's


def workload(endpoint: str, target: Target, threads: int) -> tuple[str, list[str]]:
    """The URL and the wrk arguments that load `endpoint`."""
    if endpoint == "session":
        return target.base + "/auth/session", session_headers(target.base, target.key)
    if endpoint == "login":
        values = {"key": target.key, "users": USERS, "password": PASSWORD}
        script = lua(LOGIN_SCRIPT % values, target.scratch, "login.lua")
        return target.base + "/auth/login", ["-s", script]
    if endpoint == "otp":
        script = lua(OTP_SCRIPT % {"key": target.key, "users": USERS}, target.scratch, "otp.lua")
        return target.base + "/auth/otp/request", ["-s", script]
    # Tokens and codes of their own for each call: each is good once.
    bodies = target.scratch / f"bodies_{len(list(target.scratch.glob('bodies_*')))}.txt"
    if endpoint == "otp-verify":
        bodies.write_text(otp_verify_bodies(target, OTP_CODES))
        path = "/auth/otp/verify"
    else:
        seeded = seed_refresh_tokens(target.db, target.app_id, target.user_id, REFRESH_TOKENS)
        bodies.write_text(refresh_bodies(seeded))
        path = "/auth/token/refresh"
    values = {"path": bodies, "threads": threads, "key": target.key}
    script = lua(BODIES_SCRIPT % values, target.scratch, bodies.stem + ".lua")
    return target.base + path, ["-s", script]


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a process started with `env` reads."""
    with mock.patch.dict(os.environ, env):
        return load_settings(service_name="auth")


def otp_verify_bodies(target: Target, count: int) -> str:
    """`count` sign-in codes for the bench users in turn, stored as `POST /auth/otp/request`
    stores them (`auth.otp.store`; one code per user there, any number here), and a
    verify body for each."""
    settings = target.settings
    client = create_redis(settings.redis_url)
    runtime = SimpleNamespace(
        redis=client,
        keys=Keys(settings.redis_prefix),
        box=SecretBox(settings.secret_keys()),
        settings=settings,
    )
    store = OtpStore(runtime)  # type: ignore[arg-type]
    with connect(target.db) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM user_account ORDER BY email")
        users = [str(row[0]) for row in cur]
    bodies: list[str] = []
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        request_id, code = secrets.token_urlsafe(18), f"{secrets.randbelow(10**6):06d}"
        key = store._code_key(request_id)
        pipe.hset(
            key,
            mapping={
                "user_id": users[n % len(users)],
                "audience": target.app_id,
                "purpose": "login",
                "digest": store._digest(request_id, code),
            },
        )
        pipe.expire(key, settings.otp_ttl_seconds)
        bodies.append(orjson.dumps({"otp_request_id": request_id, "code": code}).decode())
    pipe.execute()
    client.close()
    return "\n".join(bodies)


def run(endpoint: str, seconds: int, top: int, cpu_only: bool, connections: int | None) -> str:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    py_spy = Path(sys.executable).parent / "py-spy"
    if not cpu_only and not py_spy.exists():
        raise SystemExit("py-spy is not installed (pip install -e '.[bench]')")
    connections = connections or DEFAULT_CONNECTIONS[endpoint]
    threads = min(2, connections)
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as (db, url), redis_prefix() as p:
        app_id, user_id, key = seed(db, USERS)
        env = service_env(
            "auth", url, p, environment="production", secret_key=secrets.token_hex(32)
        )
        env.update(OTP_LIMITS_LIFTED)
        options = uvicorn_options(ROOT / "services" / "auth", 1)
        with serve_app("auth.main:app", env, "/auth/healthz", options) as (base, process):
            # Signs in once either way: the login profile then starts with warm caches.
            session_headers(base, key)
            settings = settings_of(env)
            where = Target(base, db, app_id, user_id, key, Path(tmp), settings)
            url, args = workload(endpoint, where, threads)
            wrk(url, 2, connections, threads, args)  # warm: caches filled, connections open
            url, args = workload(endpoint, where, threads)
            raw = Path(tmp) / "stacks.txt"
            pids = {"auth worker": process.pid, **server_pids()}
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            recorder = None
            if not cpu_only:
                recorder = subprocess.Popen(
                    [
                        *(str(py_spy), "record", "--pid", str(process.pid), "--rate", "250"),
                        *("--gil", "--duration", str(seconds), "--format", "raw"),
                        *("--output", str(raw)),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            result = wrk(url, seconds, connections, threads, args)
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            if recorder:
                recorder.wait(timeout=seconds + 30)
        collapsed = "" if cpu_only else raw.read_text()
    served = result.rate * seconds
    used = ", ".join(f"{name} {1000 * value / served:.3f} ms" for name, value in cpu.items())
    summary = (
        f"{endpoint}: 1 uvicorn worker, wrk {connections} connections for {seconds} s"
        f"{'' if cpu_only else ' (py-spy attached, which slows it)'}: {result.rate:,.0f} req/s,"
        f" p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, {result.errors} non-2xx;"
        f" CPU per request: {used}"
    )
    if cpu_only:
        return summary
    PROFILES.mkdir(exist_ok=True)
    saved = PROFILES / f"{endpoint}-{datetime.now(UTC):%Y%m%dT%H%M}.txt"
    saved.write_text(collapsed)
    total, inclusive, own = summarise(collapsed, top)
    return "\n\n".join(
        [
            f"{summary}; {total:,} samples, stacks in {saved.relative_to(ROOT)}",
            report(total, inclusive, "on the stack (inclusive)"),
            report(total, own, "at the top of the stack (self)"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", choices=sorted(DEFAULT_CONNECTIONS), default="session")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cpu-only", action="store_true", help="no py-spy: rate and CPU only")
    parser.add_argument("--connections", type=int, help="wrk connections (default: by endpoint)")
    args = parser.parse_args()
    print(run(args.endpoint, args.seconds, args.top, args.cpu_only, args.connections))


if __name__ == "__main__":
    main()
