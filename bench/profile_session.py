"""Where `GET /auth/session` spends its CPU: py-spy samples one auth worker under wrk load.

    python bench/profile_session.py [--seconds 15] [--top 25]

Serves auth with one uvicorn worker (so every sample is from the process
under load), drives `/auth/session` with wrk at 32 connections and records
the worker with `py-spy record --format raw` (collapsed stacks). Prints the
functions with the most samples on the stack (inclusive) and at the top of it
(self), as shares of all samples, beside the request rate of the same run.
Writes the collapsed stacks to `bench/out/session-<date>.txt`, which
flamegraph tools (and speedscope) read.

Needs wrk and py-spy (`pip install -e '.[bench]'`); py-spy needs ptrace rights
(root, or `kernel.yama.ptrace_scope=0`).
"""

from __future__ import annotations

import argparse
import collections
import secrets
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bench_auth import PASSWORD, USERS, seed, uvicorn_options, wrk
from harness import ROOT, redis_prefix, scratch_database, serve_app, service_env

PROFILES = ROOT / "bench" / "out"


def frame_name(frame: str) -> str:
    """`handle (starlette/routing.py:123)` -> `handle (starlette/routing.py)`: a function,
    not a line, so its samples add up."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0].rstrip(")")
    for marker in ("site-packages/", "/work/main/", str(ROOT) + "/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


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


def run(seconds: int, top: int) -> str:
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
            signed_in = httpx.post(
                base + "/auth/login",
                json={"login": "bench0@example.com", "password": PASSWORD},
                headers={"X-Auth-Service-Key": key},
                timeout=30,
            )
            signed_in.raise_for_status()
            headers = [
                *("-H", f"X-Auth-Service-Key: {key}"),
                *("-H", f"Authorization: Bearer {signed_in.json()['access_token']}"),
            ]
            url_ = base + "/auth/session"
            wrk(url_, 2, 32, 2, headers)  # warm: caches filled, connections open
            raw = Path(tmp) / "session.txt"
            recorder = subprocess.Popen(
                [
                    *(str(py_spy), "record", "--pid", str(process.pid), "--rate", "250"),
                    *("--duration", str(seconds), "--format", "raw", "--output", str(raw)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result = wrk(url_, seconds, 32, 2, headers)
            recorder.wait(timeout=seconds + 30)
        collapsed = raw.read_text()
    PROFILES.mkdir(exist_ok=True)
    saved = PROFILES / f"session-{datetime.now(UTC):%Y%m%dT%H%M}.txt"
    saved.write_text(collapsed)
    total, inclusive, own = summarise(collapsed, top)
    return "\n\n".join(
        [
            f"GET /auth/session, 1 uvicorn worker, wrk 32 connections for {seconds} s:"
            f" {result.rate:,.0f} req/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms;"
            f" {total:,} samples, stacks in {saved.relative_to(ROOT)}",
            report(total, inclusive, "on the stack (inclusive)"),
            report(total, own, "at the top of the stack (self)"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(run(args.seconds, args.top))


if __name__ == "__main__":
    main()
