"""Benchmark of the client library (clients/python) beside what it wraps, in the same run.

    python bench/bench_client.py [--seconds 3] [--rounds 3] [--users 100000]

- Offline access-token checks: `TokenVerifier.verify` (the key set cached) beside a raw
  PyJWT decode of the same token with the key parsed once (the floor), and beside a
  `GET /auth/session` round trip through the library (one connection, one request at a
  time: what one request of an application would wait). Rounds alternate raw and
  library; the medians are printed.
- The user sync: `SyncWalker` applying a full sync of `--users` users to an in-memory
  table, beside a raw walk of the same pages (httpx, `response.json()`, no work done on
  the users), at the largest page size. Best of `--rounds`.

Creates its own MariaDB database and Redis prefix (both removed at the end). Prints
markdown tables; asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable

import httpx
import jwt
from bench_auth import PASSWORD, USERS, seed, uvicorn_options
from bench_sync import seed as seed_sync
from harness import (
    ROOT,
    markdown_table,
    redis_prefix,
    scratch_database,
    serve_app,
    service_env,
    use_service,
)

use_service("auth")
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))

from identity_client import IdentityClient, SyncState, SyncWalker, TokenPair, TokenVerifier, User  # noqa: E402

from shared.settings import Environment, Settings  # noqa: E402

KEY_HEADER = "X-Auth-Service-Key"


def rate(work: Callable[[], object], seconds: float) -> float:
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            work()
        done += 50
    return done / seconds


def token_checks(seconds: float, rounds: int) -> list[list[object]]:
    with scratch_database() as (db, url), redis_prefix() as prefix:
        app_id, _, key = seed(db, USERS)
        env = service_env(
            "auth", url, prefix, environment="production", secret_key=secrets.token_urlsafe(48)
        )
        options = uvicorn_options(ROOT / "services" / "auth", 1)
        with serve_app("auth.main:app", env, "/auth/healthz", options) as (base, _):
            client = IdentityClient(base, key, application_id=app_id)
            pair = client.login("bench0@example.com", PASSWORD)
            assert isinstance(pair, TokenPair)
            token = pair.access_token
            verifier = TokenVerifier(f"{base}/.well-known/jwks.json", audience=app_id)
            verifier.verify(token)  # the key set fetched and cached
            header = jwt.get_unverified_header(token)
            jwks = httpx.get(f"{base}/.well-known/jwks.json").json()
            raw_key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]

            def raw() -> object:
                return jwt.decode(token, raw_key, algorithms=[header["alg"]], audience=app_id)

            raws, libs, trips = [], [], []
            for _ in range(rounds):
                raws.append(rate(raw, seconds))
                libs.append(rate(lambda: verifier.verify(token), seconds))
            for _ in range(rounds):
                trips.append(rate(lambda: client.session(token), seconds / 2))
            client.close()
    raw_rate, lib_rate, trip = (statistics.median(x) for x in (raws, libs, trips))
    return [
        [
            "raw PyJWT decode, key parsed once (floor)",
            f"{raw_rate:,.0f}",
            f"{1e6 / raw_rate:.0f}",
            "-",
        ],
        [
            "TokenVerifier.verify (the library, JWKS cached)",
            f"{lib_rate:,.0f}",
            f"{1e6 / lib_rate:.0f}",
            f"{lib_rate / raw_rate:.2f}x of raw",
        ],
        [
            "GET /auth/session round trip (the library, 1 connection)",
            f"{trip:,.0f}",
            f"{1e6 / trip:.0f}",
            f"offline is {lib_rate / trip:.0f}x",
        ],
    ]


class MemoryTable:
    def __init__(self) -> None:
        self.users: dict[str, str] = {}

    def stored_hash(self, auth_user_id: str) -> str | None:
        return self.users.get(auth_user_id)

    def upsert(self, user: User) -> None:
        self.users[user.auth_user_id] = user.sync_hash

    def remove(self, auth_user_id: str) -> None:
        self.users.pop(auth_user_id, None)


class MemoryCursor:
    def __init__(self) -> None:
        self.state = SyncState()

    def load(self) -> SyncState:
        return self.state

    def save(self, state: SyncState) -> None:
        self.state = state


def raw_walk(base: str, key: str, limit: int) -> tuple[int, float]:
    rows, since = 0, None
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=120) as http:
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if since:
                params["since"] = since
            body = http.get("/users/sync", params=params, headers={KEY_HEADER: key}).json()
            rows += len(body["users"])
            since = body["next_cursor"]
            if not body["has_more"]:
                return rows, time.perf_counter() - started


def helper_walk(base: str, key: str, limit: int) -> tuple[int, float]:
    table = MemoryTable()
    started = time.perf_counter()
    with IdentityClient(base, key, timeout=120) as client:
        report = SyncWalker(client, table, MemoryCursor(), page_size=limit).run()
    elapsed = time.perf_counter() - started
    assert report.upserted == len(table.users)
    return len(table.users), elapsed


def sync_walks(users: int, rounds: int) -> list[list[object]]:
    limit = Settings(env=Environment.TEST).sync_max_limit
    with scratch_database() as (db, url), redis_prefix() as prefix:
        _, key, _ = seed_sync(db, users)
        env = service_env("directory", url, prefix)
        use_service("directory")
        with serve_app("directory.main:app", env, "/directory/healthz") as (base, _):
            raw_walk(base, key, 10)  # warm-up: imports, the key cache, the pool
            raws = [raw_walk(base, key, limit) for _ in range(rounds)]
            helpers = [helper_walk(base, key, limit) for _ in range(rounds)]
    raw_rows, raw_seconds = min(raws, key=lambda r: r[1])
    rows, seconds = min(helpers, key=lambda r: r[1])
    assert rows == raw_rows == users, (rows, raw_rows, users)
    return [
        [f"raw walk, limit {limit} (httpx, response.json())", f"{raw_seconds:.2f}", "-"],
        [
            "SyncWalker into an in-memory table",
            f"{seconds:.2f}",
            f"{seconds / raw_seconds:.2f}x of raw",
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    checks = token_checks(args.seconds, args.rounds)
    walks = sync_walks(args.users, args.rounds)
    print(f"{os.cpu_count()} CPUs; one auth worker; the service on the same machine\n")
    print(markdown_table(["access-token check", "per second", "µs each", "ratio"], checks))
    print(f"\nSync of {args.users:,} users (best of {args.rounds})\n")
    print(markdown_table(["walk", "seconds", "ratio"], walks))


if __name__ == "__main__":
    main()
