"""Where an auth endpoint spends its CPU: py-spy samples one auth worker under wrk load.

    python bench/profile_auth.py [--endpoint session|login] [--seconds 15] [--top 25]

Serves auth with one uvicorn worker (so every sample is from the process
under load), drives `GET /auth/session` (32 connections) or `POST /auth/login`
(4 connections, rotating over the bench users) with wrk and records the worker
with `py-spy record --format raw` (collapsed stacks; argon2's C code shows as
the Python frame that called it). Prints the functions with the most samples
on the stack (inclusive) and at the top of it (self), as shares of all
samples, beside the request rate of the same run and the CPU seconds each
process used. Writes the collapsed stacks to `bench/out/<endpoint>-<date>.txt`,
which flamegraph tools (and speedscope) read.

Needs wrk and py-spy (`pip install -e '.[bench]'`); py-spy needs ptrace rights
(root, or `kernel.yama.ptrace_scope=0`).
"""

from __future__ import annotations

import argparse
import collections
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench_auth import (
    LOGIN_SCRIPT,
    PASSWORD,
    USERS,
    lua,
    seed,
    session_headers,
    uvicorn_options,
    wrk,
)
from harness import (
    ROOT,
    redis_prefix,
    scratch_database,
    serve_app,
    service_env,
)

from tests.proc import cpu_seconds

PROFILES = ROOT / "bench" / "out"


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


def run(endpoint: str, seconds: int, top: int) -> str:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        raise SystemExit("py-spy is not installed (pip install -e '.[bench]')")
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as (db, url), redis_prefix() as p:
        _, _, key = seed(db, USERS)
        env = service_env(
            "auth", url, p, environment="production", secret_key=secrets.token_hex(32)
        )
        options = uvicorn_options(ROOT / "services" / "auth", 1)
        with serve_app("auth.main:app", env, "/auth/healthz", options) as (base, process):
            # Signs in once either way: the login profile then starts with warm caches.
            session_args = session_headers(base, key)
            if endpoint == "session":
                target, connections, args = base + "/auth/session", 32, session_args
            else:
                target, connections = base + "/auth/login", 4
                values = {"key": key, "users": USERS, "password": PASSWORD}
                args = ["-s", lua(LOGIN_SCRIPT % values, Path(tmp), "login.lua")]
            wrk(target, 2, connections, 2, args)  # warm: caches filled, connections open
            raw = Path(tmp) / "stacks.txt"
            pids = {"auth worker": process.pid, **server_pids()}
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            recorder = subprocess.Popen(
                [
                    *(str(py_spy), "record", "--pid", str(process.pid), "--rate", "250", "--gil"),
                    *("--duration", str(seconds), "--format", "raw", "--output", str(raw)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result = wrk(target, seconds, connections, 2, args)
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            recorder.wait(timeout=seconds + 30)
        collapsed = raw.read_text()
    PROFILES.mkdir(exist_ok=True)
    saved = PROFILES / f"{endpoint}-{datetime.now(UTC):%Y%m%dT%H%M}.txt"
    saved.write_text(collapsed)
    total, inclusive, own = summarise(collapsed, top)
    used = ", ".join(f"{name} {value:.1f} s" for name, value in cpu.items())
    return "\n\n".join(
        [
            f"{endpoint}: 1 uvicorn worker, wrk {connections} connections for {seconds} s"
            f" (py-spy attached, which slows it): {result.rate:,.0f} req/s,"
            f" p50 {result.p50_ms} ms, p99 {result.p99_ms} ms; CPU used: {used};"
            f" {total:,} samples, stacks in {saved.relative_to(ROOT)}",
            report(total, inclusive, "on the stack (inclusive)"),
            report(total, own, "at the top of the stack (self)"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", choices=["session", "login"], default="session")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(run(args.endpoint, args.seconds, args.top))


if __name__ == "__main__":
    main()
