"""Benchmark of OpenID Connect's server-side paths, beside baselines from the same run.

    python bench/bench_oidc.py [--seconds 10] [--workers N]

- `POST /auth/oidc/token` code exchanges/s (each request with a fresh code, a
  confidential client with its secret), beside `POST /auth/login` on the same
  service (the seed's sign-in, argon2id included): what a relying party's
  server pays per sign-in, next to what the REST API pays;
- offline verification of an access token with a cached JWKS (PyJWT, one
  process, the key parsed once), per signing algorithm, beside
  `GET /auth/session` round trips/s for a token of that algorithm (wrk, 64
  connections): what an application saves by verifying locally, and what it
  gives up (revocation is only in the round trip).

Creates its own MariaDB database and Redis prefix (both removed at the end).
Needs `wrk`. Prints markdown tables; asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import jwt
import orjson
import redis
from bench_auth import (
    BODIES_SCRIPT,
    LOGIN_SCRIPT,
    PASSWORD,
    USERS,
    Result,
    hashing_processes,
    lua,
    seed,
    uvicorn_options,
    wrk,
)
from harness import (
    REDIS_URL,
    ROOT,
    connect,
    db_now,
    markdown_table,
    number_or_dash,
    redis_prefix,
    scratch_database,
    serve_app,
    service_env,
    use_service,
)

use_service("auth")

from shared.models.base import new_id  # noqa: E402

ALGORITHMS = ("RS256", "ES256", "EdDSA")
CODES = 40_000  # more than the fastest run exchanges; each lives 60 s
REDIRECT = "https://rp.example/callback"

# BODIES_SCRIPT with a form body and the client's Basic credentials.
TOKEN_SCRIPT = BODIES_SCRIPT.replace(
    '["Content-Type"] = "application/json",\n    ["X-Auth-Service-Key"] = "%(key)s"',
    '["Content-Type"] = "application/x-www-form-urlencoded",\n    ["Authorization"] = "%(basic)s"',
)


def register_clients(db: str, app_id: str, algorithms: tuple[str, ...]) -> dict[str, str]:
    """The bench application as a confidential client, and one more application per other
    algorithm (with the same users assigned); {alg: application id}, and its secret."""
    now = db_now()
    secret = "ocs_" + secrets.token_urlsafe(32)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    apps = {algorithms[0]: app_id}
    conn = connect(db)
    with conn.cursor() as cur:
        for alg in algorithms[1:]:
            other = str(new_id())
            cur.execute(
                "INSERT INTO application (id, name, status, created_at, updated_at)"
                " VALUES (%s, %s, 'active', %s, %s)",
                (other, f"bench-{alg}", now, now),
            )
            cur.execute(
                "INSERT INTO allowed_network (application_id, cidr, position)"
                " VALUES (%s, '127.0.0.1/32', 0)",
                (other,),
            )
            cur.execute(
                "INSERT INTO assignment (user_id, application_id, created_at)"
                " SELECT user_id, %s, %s FROM assignment WHERE application_id = %s",
                (other, now, app_id),
            )
            apps[alg] = other
        for alg, application in apps.items():
            cur.execute(
                "INSERT INTO oidc_client (application_id, client_type, secret_hash, secret_hint,"
                " redirect_uris, post_logout_redirect_uris, token_signing_alg, created_at,"
                " updated_at) VALUES (%s, 'confidential', %s, %s, %s, '[]', %s, %s, %s)",
                (application, digest, secret[:8], orjson.dumps([REDIRECT]), alg, now, now),
            )
    conn.commit()
    conn.close()
    apps["secret"] = secret
    return apps


def seed_codes(db: str, prefix: str, app_id: str, user_id: str, count: int) -> list[str]:
    """`count` codes waiting to be exchanged, as the hosted page leaves them (with the
    provider session they name), stored the way `auth/oidc/codes.py` stores them."""
    now = db_now()
    sso_id = str(new_id())
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO auth_session (id, kind, user_id, created_at, last_seen_at, expires_at,"
            " absolute_expires_at) VALUES (%s, 'sso', %s, %s, %s, %s, %s)",
            (sso_id, user_id, now, now, now + timedelta(hours=12), now + timedelta(hours=12)),
        )
    conn.commit()
    conn.close()
    client = redis.Redis.from_url(REDIS_URL)
    codes, issued = [], time.time()
    with client.pipeline(transaction=False) as pipe:
        for _ in range(count):
            code = secrets.token_urlsafe(36)
            body = {
                "client_id": app_id,
                "redirect_uri": REDIRECT,
                "scope": "openid profile email",
                "user_id": user_id,
                "sso_session_id": sso_id,
                "auth_time": int(issued),
                "amr": ["pwd"],
                "nonce": None,
                "code_challenge": None,
                "code_challenge_method": None,
                "issued_at": issued,
            }
            digest = hashlib.sha256(code.encode()).hexdigest()
            pipe.set(f"{prefix}auth:oidc:code:{digest}", orjson.dumps(body), ex=60)
            codes.append(code)
        pipe.execute()
    client.close()
    return codes


def token_bodies(codes: list[str]) -> str:
    return "\n".join(
        urlencode({"grant_type": "authorization_code", "code": c, "redirect_uri": REDIRECT})
        for c in codes
    )


def signed_in(base: str, key: str) -> str:
    answer = httpx.post(
        base + "/auth/login",
        json={"login": "bench0@example.com", "password": PASSWORD},
        headers={"X-Auth-Service-Key": key},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def offline_rate(token: str, jwks: dict[str, object], audience: str, seconds: float) -> float:
    """PyJWT decodes per second with the key already parsed from a cached JWKS (one core)."""
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            jwt.decode(token, key, algorithms=[header["alg"]], audience=audience)
        done += 100
    return done / seconds


def app_key(db: str, app_id: str) -> str:
    """A fresh API key for one of the applications (the others were made without one)."""
    from shared.security.api_keys import generate_api_key

    key = generate_api_key()
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO api_key (id, application_id, prefix, key_hash, status, created_at)"
            " VALUES (%s, %s, %s, %s, 'active', %s)",
            (str(new_id()), app_id, key.prefix, key.key_hash, db_now()),
        )
    conn.commit()
    conn.close()
    return key.plaintext


def run(seconds: int, workers: int) -> tuple[list[Result], list[list[object]]]:
    threads = max(1, min(workers, 4))
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database() as (db, url),
        redis_prefix() as prefix,
    ):
        scratch = Path(tmp)
        app_id, user_id, key = seed(db, USERS)
        clients = register_clients(db, app_id, ALGORITHMS)
        env = service_env(
            "auth", url, prefix, environment="production", secret_key=secrets.token_urlsafe(48)
        )
        env["IDENTITY_PASSWORD_HASHING_PROCESSES"] = str(hashing_processes(workers))
        options = uvicorn_options(ROOT / "services" / "auth", workers)
        with serve_app("auth.main:app", env, "/auth/healthz", options) as (base, _):
            login_script = lua(
                LOGIN_SCRIPT % {"key": key, "users": USERS, "password": PASSWORD},
                scratch,
                "login.lua",
            )
            login = wrk(base + "/auth/login", seconds, 4 * workers, threads, ["-s", login_script])
            login.label = "POST /auth/login (baseline: the seed's sign-in, argon2id included)"

            codes = seed_codes(db, prefix, app_id, user_id, CODES)
            bodies = scratch / "codes.txt"
            bodies.write_text(token_bodies(codes))
            basic = base64.b64encode(f"{app_id}:{clients['secret']}".encode()).decode()
            script = lua(
                TOKEN_SCRIPT % {"path": bodies, "threads": threads, "basic": f"Basic {basic}"},
                scratch,
                "token.lua",
            )
            exchange = wrk(base + "/auth/oidc/token", seconds, 16, threads, ["-s", script])
            exchange.label = "POST /auth/oidc/token (a fresh code each time, ID token included)"
            exchange.baseline = login.label

            jwks = httpx.get(base + "/.well-known/jwks.json", timeout=10).json()
            verify_rows: list[list[object]] = []
            for alg in ALGORITHMS:
                application = clients[alg]
                app_api_key = key if application == app_id else app_key(db, application)
                token = signed_in(base, app_api_key)
                assert jwt.get_unverified_header(token)["alg"] == alg
                offline = offline_rate(token, jwks, application, min(seconds, 5))
                headers = ["-H", f"X-Auth-Service-Key: {app_api_key}",
                           "-H", f"Authorization: Bearer {token}"]  # fmt: skip
                round_trip = wrk(base + "/auth/session", seconds, 64, threads, headers)
                per_check_us = 1e6 / offline
                latency = (round_trip.p50_ms or 0) * 1000 / per_check_us
                verify_rows.append(
                    [
                        alg,
                        f"{offline:,.0f}",
                        f"{per_check_us:.0f}",
                        f"{round_trip.rate:,.0f}",
                        number_or_dash(round_trip.p50_ms, ".2f"),
                        round_trip.errors,
                        f"{offline / round_trip.rate:.1f}x",
                        f"{latency:,.0f}x",
                    ]
                )
    return [login, exchange], verify_rows


def tables(results: list[Result], verify_rows: list[list[object]], workers: int) -> str:
    by_label = {r.label: r for r in results}
    rows = []
    for r in results:
        ratio = f"{r.rate / by_label[r.baseline].rate:.2f}x" if r.baseline else "-"
        p50, p99 = number_or_dash(r.p50_ms, ".2f"), number_or_dash(r.p99_ms, ".2f")
        rows.append([r.label, f"{r.rate:,.0f}", p50, p99, r.errors, ratio])
    head = (
        f"{workers} uvicorn workers with {hashing_processes(workers)} hashing process(es) each,"
        f" {os.cpu_count()} CPUs (wrk on the same machine)\n\n"
    )
    exchange = markdown_table(
        ["measurement", "requests/s", "p50 ms", "p99 ms", "non-2xx", "vs baseline"], rows
    )
    verify = markdown_table(
        [
            "algorithm",
            "offline verify/s (PyJWT, cached JWKS, 1 process)",
            "offline µs/check",
            "GET /auth/session/s (wrk, 64 conn.)",
            "round trip p50 ms",
            "non-2xx",
            "throughput: offline vs service",
            "latency: round trip vs offline",
        ],
        verify_rows,
    )
    return head + exchange + "\n\nAccess-token checks\n\n" + verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    results, verify_rows = run(args.seconds, args.workers)
    print(tables(results, verify_rows, args.workers))


if __name__ == "__main__":
    main()
