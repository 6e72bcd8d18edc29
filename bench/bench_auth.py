"""Benchmark of the auth hot paths with `wrk` on loopback, beside baselines from the same run.

    python bench/bench_auth.py [--seconds 10] [--workers N]

- `GET /auth/session` requests/s and p50/p99, beside a FastAPI hello-world
  served the same way (uvicorn, same number of workers), measured right before
  and right after it; then its p50/p99 paced at about 70% of that maximum;
- `POST /auth/login` logins/s, beside raw argon2id verifications/s with the same
  parameters on the same number of processes, measured right before and after;
- `POST /auth/token/refresh` requests/s, each request with a fresh token.

Creates its own MariaDB database and Redis prefix (both removed at the end).
Needs `wrk` (Debian: `apt-get install wrk`). Prints a markdown table; asserts
nothing about timing.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import re
import secrets
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
from argon2 import PasswordHasher, Type
from harness import (
    PACED_SCRIPT,
    ROOT,
    batches,
    connect,
    db_now,
    markdown_table,
    number_or_dash,
    paced_run,
    redis_prefix,
    scratch_database,
    seed_application,
    serve_app,
    service_env,
    use_service,
)

use_service("auth")

from shared.models.base import new_id  # noqa: E402
from shared.sync_contract import compute_sync_hash  # noqa: E402

PASSWORD = "violet-harbour-engine-41"
REFRESH_TOKENS = 60_000
USERS = 64

HELLO_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "Hello World"}
"""

LOGIN_SCRIPT = """
local n = 0
function request()
  n = n + 1
  local body = '{"login":"bench' .. (n %% %(users)d) .. '@example.com","password":"%(password)s"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["X-Auth-Service-Key"] = "%(key)s"}, body)
end
"""

# OTP requests rotating over the users (`%(users)d` of them).
OTP_SCRIPT = """
local n = 0
function request()
  n = n + 1
  local body = '{"login":"bench' .. (n %% %(users)d) .. '@example.com"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["X-Auth-Service-Key"] = "%(key)s"}, body)
end
"""

# OTP requests rotate over the users far faster than a person asks for codes.
OTP_LIMITS_LIFTED = {
    "IDENTITY_OTP_RESEND_COOLDOWN_SECONDS": "0",
    "IDENTITY_OTP_HOURLY_CAP_PER_LOGIN": "1000",
    "IDENTITY_OTP_HOURLY_CAP_PER_IP": "100000",
}

# Each wrk thread walks its own slice of a file of request bodies, one per line, each
# good once (never-used refresh tokens, codes waiting to be verified).
BODIES_SCRIPT = """
local bodies = {}
for line in io.lines("%(path)s") do bodies[#bodies + 1] = line end
local counter, threads = 1, {}
function setup(thread)
  thread:set("id", counter); counter = counter + 1; table.insert(threads, thread)
end
function init(args)
  local per = math.floor(#bodies / %(threads)d)
  first = (id - 1) * per; index = 0; span = per
end
function request()
  index = (index %% span) + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["X-Auth-Service-Key"] = "%(key)s"}, bodies[first + index])
end
"""


def refresh_bodies(tokens: list[str]) -> str:
    """BODIES_SCRIPT's file for `POST /auth/token/refresh`."""
    return "\n".join(orjson.dumps({"refresh_token": token}).decode() for token in tokens)


@dataclass
class Result:
    label: str
    rate: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    baseline: str | None = None


def argon2_hasher() -> PasswordHasher:
    """argon2id with the settings' default parameters."""
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)


def seed(db: str, users: int) -> tuple[str, str, str]:
    """One application (key, loopback allowed) and `users` assigned users with a password.

    Logins rotate over the users: concurrent attempts on one account count toward
    its lockout threshold, which a real person never reaches by signing in.
    """
    now = db_now()
    password_hash = argon2_hasher().hash(PASSWORD)
    conn = connect(db)
    with conn.cursor() as cur:
        app_id, key = seed_application(cur, now)
        first_user = ""
        for n in range(users):
            user_id = str(new_id())
            first_user = first_user or user_id
            fields: dict[str, str | None] = {"name": f"Bench User {n}"}
            fields["email"] = f"bench{n}@example.com"
            fields |= {"mobile_number": None, "emp_id": None, "status": "active"}
            cur.execute(
                "INSERT INTO user_account (id, name, email, status, is_admin, mfa_enabled,"
                " password_hash, sync_hash, created_at, updated_at)"
                " VALUES (%s, %s, %s, 'active', 0, 0, %s, %s, %s, %s)",
                (
                    user_id,
                    fields["name"],
                    fields["email"],
                    password_hash,
                    compute_sync_hash(fields),
                    now,
                    now,
                ),
            )
            cur.execute(
                "INSERT INTO assignment (user_id, application_id, created_at) VALUES (%s, %s, %s)",
                (user_id, app_id, now),
            )
    conn.commit()
    conn.close()
    return app_id, first_user, key


def seed_refresh_tokens(db: str, app_id: str, user_id: str, count: int) -> list[str]:
    """`count` sessions, each with one unused refresh token, as a login would leave them."""
    now = db_now()
    later = now + timedelta(days=30)
    sessions, tokens, plaintexts = [], [], []
    for _ in range(count):
        session_id, plaintext = str(new_id()), "rt_" + secrets.token_urlsafe(32)
        sessions.append((session_id, user_id, app_id, now, now, later, later + timedelta(days=60)))
        tokens.append(
            (str(new_id()), session_id, hashlib.sha256(plaintext.encode()).hexdigest(), now, later)
        )
        plaintexts.append(plaintext)
    conn = connect(db)
    with conn.cursor() as cur:
        for session_rows, token_rows in zip(
            batches(sessions, 5000), batches(tokens, 5000), strict=True
        ):
            cur.executemany(
                "INSERT INTO auth_session (id, user_id, application_id, created_at, last_seen_at,"
                " expires_at, absolute_expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                session_rows,
            )
            cur.executemany(
                "INSERT INTO refresh_token (id, session_id, token_hash, created_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                token_rows,
            )
    conn.commit()
    conn.close()
    return plaintexts


def session_headers(base: str, key: str) -> list[str]:
    """wrk arguments for `GET /auth/session`: the key and a token of the first bench user."""
    signed_in = httpx.post(
        base + "/auth/login",
        json={"login": "bench0@example.com", "password": PASSWORD},
        headers={"X-Auth-Service-Key": key},
        timeout=30,
    )
    signed_in.raise_for_status()
    access = signed_in.json()["access_token"]
    return ["-H", f"X-Auth-Service-Key: {key}", "-H", f"Authorization: Bearer {access}"]


def uvicorn_options(app_dir: Path, workers: int) -> list[str]:
    return [
        "--app-dir",
        str(app_dir),
        "--workers",
        str(workers),
        "--no-access-log",
        "--no-proxy-headers",
    ]


def _millis(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: int, connections: int, threads: int, args: list[str]) -> Result:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *args, url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Result(
        label="",
        rate=rate,
        p50_ms=_millis(p50.group(1)) if p50 else None,
        p99_ms=_millis(p99.group(1)) if p99 else None,
        errors=int(errors.group(1)) if errors else 0,
    )


def _verify_loop(args: tuple[str, float]) -> int:
    stored, seconds = args
    hasher = argon2_hasher()
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        hasher.verify(stored, PASSWORD)
        done += 1
    return done


def argon2_rate(processes: int, seconds: float) -> float:
    stored = argon2_hasher().hash(PASSWORD)
    with multiprocessing.Pool(processes) as pool:
        counts = pool.map(_verify_loop, [(stored, seconds)] * processes)
    return sum(counts) / seconds


def lua(text: str, directory: Path, name: str) -> str:
    path = directory / name
    path.write_text(text)
    return str(path)


def mean_of(label: str, first: Result, second: Result) -> Result:
    """A baseline measured right before and right after, so drifting load hits both sides."""
    return Result(
        label,
        (first.rate + second.rate) / 2,
        p50_ms=max(first.p50_ms or 0, second.p50_ms or 0) or None,
        p99_ms=max(first.p99_ms or 0, second.p99_ms or 0) or None,
        errors=first.errors + second.errors,
    )


def hashing_processes(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def run(seconds: int, workers: int) -> list[Result]:
    threads = max(1, min(workers, 4))
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database() as (db, url),
        redis_prefix() as prefix,
    ):
        scratch = Path(tmp)
        app_id, user_id, key = seed(db, USERS)
        refresh_file = scratch / "refresh_tokens.txt"
        tokens = seed_refresh_tokens(db, app_id, user_id, REFRESH_TOKENS)
        refresh_file.write_text(refresh_bodies(tokens))
        (scratch / "hello_app.py").write_text(HELLO_APP)
        env = service_env(
            "auth", url, prefix, environment="production", secret_key=secrets.token_urlsafe(48)
        )
        # As `make stack` does: the workers share the CPUs, so hashing processes for all of them.
        env["IDENTITY_PASSWORD_HASHING_PROCESSES"] = str(hashing_processes(workers))
        hello_options = uvicorn_options(scratch, workers)
        auth_options = uvicorn_options(ROOT / "services" / "auth", workers)
        with (
            serve_app("hello_app:app", {}, "/hello", hello_options) as (hello_base, _),
            serve_app("auth.main:app", env, "/auth/healthz", auth_options) as (base, _),
        ):
            session_args = session_headers(base, key)

            before = wrk(hello_base + "/hello", seconds, 64, threads, [])
            session = wrk(base + "/auth/session", seconds, 64, threads, session_args)
            after = wrk(hello_base + "/hello", seconds, 64, threads, [])
            hello = mean_of("FastAPI hello-world (baseline)", before, after)
            session.label, session.baseline = "GET /auth/session", hello.label
            pause_ms = 20
            paced_args = [
                *session_args,
                "-s",
                lua(PACED_SCRIPT % {"ms": pause_ms}, scratch, "p.lua"),
            ]
            paced, connections = paced_run(
                lambda n: wrk(base + "/auth/session", seconds, n, threads, paced_args),
                session.rate,
                pause_ms,
            )
            paced.label = (
                f"GET /auth/session paced: {connections} connections, {pause_ms} ms apart on"
                f" average ({paced.rate / session.rate:.0%} of its max)"
            )

            values = {"key": key, "users": USERS, "password": PASSWORD}
            script = lua(LOGIN_SCRIPT % values, scratch, "login.lua")
            raw_before = argon2_rate(workers, seconds)
            login = wrk(base + "/auth/login", seconds, 4 * workers, threads, ["-s", script])
            raw_after = argon2_rate(workers, seconds)
            raw = Result("raw argon2id verify (baseline)", (raw_before + raw_after) / 2)
            login.label, login.baseline = "POST /auth/login", raw.label

            script = lua(
                BODIES_SCRIPT % {"path": refresh_file, "threads": threads, "key": key},
                scratch,
                "refresh.lua",
            )
            refresh = wrk(base + "/auth/token/refresh", seconds, 16, threads, ["-s", script])
            refresh.label = "POST /auth/token/refresh (fresh token each time)"
    return [hello, session, paced, raw, login, refresh]


def table(results: list[Result], workers: int) -> str:
    by_label = {r.label: r for r in results}
    rows = []
    for r in results:
        ratio = f"{r.rate / by_label[r.baseline].rate:.2f}x" if r.baseline else "-"
        p50, p99 = number_or_dash(r.p50_ms, ".2f"), number_or_dash(r.p99_ms, ".2f")
        rows.append([r.label, f"{r.rate:,.0f}", p50, p99, r.errors, ratio])
    columns = ["measurement", "requests/s", "p50 ms", "p99 ms", "non-2xx", "vs baseline"]
    return (
        f"{workers} uvicorn workers with {hashing_processes(workers)} hashing process(es) each"
        f" / {workers} raw argon2 processes, {os.cpu_count()} CPUs (wrk on the same machine),"
        " argon2id t=2 m=19 MiB p=1\n\n" + markdown_table(columns, rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    print(table(run(args.seconds, args.workers), args.workers))


if __name__ == "__main__":
    main()
