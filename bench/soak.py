"""A bounded soak: mixed traffic through Traefik for a few minutes, then three checks.

`python bench/soak.py [--minutes 5]` starts the real topology with the stack
runner (Traefik, auth x2 and its session-check replica, directory, OTP
delivery, audit, console, the Celery worker, the audit consumers) on a
scratch database and Redis prefix, does the seed's initial setup through the
admin APIs, then runs session checks, password logins, OTP request + verify
(the code read from an HTTP SMS sink), `/users/sync` pages and admin user
edits at a fixed concurrency. Afterwards:
no 5xx, every process's RSS flat after warm-up, and every audit event stored.
Exits 1 on a 5xx or a missing audit event; memory and timings are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from harness import (
    REDIS_URL,
    connect,
    markdown_table,
    redis_prefix,
    rss_mib,
    scratch_database,
)

# harness put the repository root on sys.path.
from stack.config import StackConfig
from stack.runner import Stack
from tests.e2e.support import PASSWORD, client, created, free_port_run, make_app
from tests.otp_delivery.sinks import HttpSink
from tests.proc import parents_and_groups

SETUP_TOKEN = secrets.token_urlsafe(24)
# Share of each kind of call in the mix; sessions dominate, as in production.
MIX = {"session": 45, "sync": 15, "edit": 15, "login": 12, "otp": 13}
RSS_EVERY = 10.0
FLAT_TOLERANCE = 0.10


class SmsBox:
    """The codes the SMS sink received, by mobile number, read incrementally."""

    def __init__(self, sink: HttpSink) -> None:
        self.sink = sink
        self._read = 0
        self._codes: dict[str, list[str]] = {}

    def codes(self, mobile: str) -> list[str]:
        arrived = self.sink.requests[self._read :]
        self._read += len(arrived)
        for recorded in arrived:
            body = recorded.json()
            self._codes.setdefault(body.get("to"), []).append(body["otp"])
        return self._codes.get(mobile, [])

    async def next_code(self, mobile: str, seen: int, timeout: float = 30.0) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            codes = self.codes(mobile)
            if len(codes) > seen:
                return codes[-1]
            await asyncio.sleep(0.05)
        return None


class Soak:
    def __init__(self, http: httpx.AsyncClient, api_key: str, users: list[dict[str, Any]]):
        self.http, self.users = http, users
        self.app_headers = {"X-Auth-Service-Key": api_key}
        self.admin_headers: dict[str, str] = {}
        self.statuses: Counter[tuple[str, str]] = Counter()
        self.app_calls = 0
        self.tokens: deque[str] = deque(maxlen=64)
        self.server_errors: list[str] = []  # the first few 5xx, to say what they were
        self.started = time.monotonic()
        self.edits = itertools.count(1)

    async def call(self, label: str, method: str, path: str, app: bool = True, **kw: Any) -> Any:
        headers = {**(self.app_headers if app else self.admin_headers), **kw.pop("headers", {})}
        try:
            response = await self.http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            self.statuses[label, type(exc).__name__] += 1
            return None
        self.statuses[label, str(response.status_code)] += 1
        if response.status_code >= 500 and len(self.server_errors) < 20:
            at = time.monotonic() - self.started
            body = response.text[:200].replace("\n", " ")
            self.server_errors.append(f"{at:.1f} s {label} {response.status_code}: {body}")
        # Traefik's own 502/504 (plain text) never reached a service: no audit event.
        from_gateway = "json" not in response.headers.get("content-type", "")
        self.app_calls += app and not (response.status_code in (502, 504) and from_gateway)
        return response

    async def session(self, user: dict[str, Any]) -> None:
        if not self.tokens:
            return await self.login(user)
        token = random.choice(self.tokens)
        auth = {"Authorization": f"Bearer {token}"}
        await self.call("GET /auth/session", "GET", "/auth/session", headers=auth)

    async def login(self, user: dict[str, Any]) -> None:
        body = {"login": user["email"], "password": PASSWORD}
        response = await self.call("POST /auth/login", "POST", "/auth/login", json=body)
        if response is not None and response.status_code == 200:
            self.tokens.append(response.json()["access_token"])

    async def otp(self, user: dict[str, Any], sms: SmsBox) -> None:
        seen = len(sms.codes(user["mobile_number"]))
        body = {"login": user["mobile_number"]}
        asked = await self.call("POST /auth/otp/request", "POST", "/auth/otp/request", json=body)
        if asked is None or asked.status_code != 202:
            return
        code = await sms.next_code(user["mobile_number"], seen)
        if code is None:
            self.statuses["SMS at the sink", "missing"] += 1
            return
        answer = {"otp_request_id": asked.json()["otp_request_id"], "code": code}
        verified = await self.call("POST /auth/otp/verify", "POST", "/auth/otp/verify", json=answer)
        if verified is not None and verified.status_code == 200:
            self.tokens.append(verified.json()["access_token"])

    async def sync(self) -> None:
        await self.call("GET /users/sync", "GET", "/users/sync", params={"limit": 1000})

    async def edit(self) -> None:
        user = random.choice(self.users)
        body = {"name": f"Soak User {user['email'].split('@')[0]} v{next(self.edits)}"}
        path = f"/directory/users/{user['auth_user_id']}"
        await self.call("PATCH /directory/users/{id}", "PATCH", path, app=False, json=body)

    async def worker(self, user: dict[str, Any], sms: SmsBox, deadline: float) -> None:
        """One caller; it owns `user`, so its logins and OTP codes never mix with another's."""
        kinds, weights = list(MIX), list(MIX.values())
        while time.monotonic() < deadline:
            kind = random.choices(kinds, weights)[0]
            if kind == "session":
                await self.session(user)
            elif kind == "login":
                await self.login(user)
            elif kind == "otp":
                await self.otp(user, sms)
            elif kind == "sync":
                await self.sync()
            else:
                await self.edit()


def group_rss(pgid: int) -> float:
    """RSS of a whole process group (a Celery worker and its pool children) and of what its
    members started in sessions of their own (auth's password hashing processes)."""
    processes = parents_and_groups()
    members = {pid for pid, (_, group) in processes.items() if group == pgid}
    while True:
        children = {pid for pid, (parent, _) in processes.items() if parent in members}
        if children <= members:
            break
        members |= children
    total = 0.0
    for pid in members:
        with contextlib.suppress(OSError, RuntimeError, ValueError):  # ended meanwhile
            total += rss_mib(pid)
    return total


async def sample_rss(stack: Stack, samples: dict[str, list[float]], stop: asyncio.Event) -> None:
    while True:
        for name, pid in stack.running().items():
            samples.setdefault(name, []).append(group_rss(pid))
        try:
            await asyncio.wait_for(stop.wait(), RSS_EVERY)
            return
        except TimeoutError:
            continue


def stack_config(database_url: str, prefix: str, run_dir: Path) -> StackConfig:
    first = free_port_run(10)
    env = {
        "IDENTITY_ENV": "production",
        "IDENTITY_DATABASE_URL": database_url,
        "IDENTITY_REDIS_URL": REDIS_URL,
        "IDENTITY_REDIS_PREFIX": prefix,
        "IDENTITY_SECRET_KEY": secrets.token_urlsafe(48),
        "IDENTITY_SETUP_TOKEN": SETUP_TOKEN,
        "IDENTITY_LOG_LEVEL": "WARNING",
        "IDENTITY_OTP_ALLOW_PRIVATE_HOSTS": "true",  # the SMS sink is on loopback
        # One user asks for a code every few seconds here: far above a person's rate.
        "IDENTITY_OTP_RESEND_COOLDOWN_SECONDS": "0",
        "IDENTITY_OTP_HOURLY_CAP_PER_LOGIN": "1000",
        "IDENTITY_OTP_HOURLY_CAP_PER_IP": "100000",
    }
    return StackConfig(run_dir=run_dir, gateway_port=first, first_service_port=first + 1, env=env)


class Setup(NamedTuple):
    admin_token: str
    api_key: str
    app_id: str
    users: list[dict[str, Any]]


def initial_setup(gateway: str, sink: HttpSink, count: int) -> Setup:
    """Steps 1-2 and 4-7 of the seed's initial setup: the first administrator, the SMS
    provider pointed at the sink, an application allowed from loopback, assigned users."""
    with client(gateway) as http:
        body = {"setup_token": SETUP_TOKEN, "name": "Soak Admin", "email": "admin@example.com"}
        token = created(http.post("/auth/admin/setup", json={**body, "password": PASSWORD}))
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        sms = {
            "provider": "generic_api",
            "config": {
                "url": sink.url + "/sms/send",
                "method": "POST",
                "body_template": '{"to": "{mobile}", "text": "{message}", "otp": "{code}"}',
                "success_json_field": "ok",
                "success_json_value": "true",
            },
        }
        created(http.put("/otp/settings", json={"sms": sms}))
        app, api_key = make_app(http, "Soak", ["127.0.0.1/32"])
        users = [
            created(
                http.post(
                    "/directory/users",
                    json={
                        "name": f"Soak User {n}",
                        "email": f"soak{n}@example.com",
                        "mobile_number": f"+1415555{n:04d}",
                        "password": PASSWORD,
                        "application_ids": [app["id"]],
                    },
                )
            )
            for n in range(count)
        ]
    return Setup(token["access_token"], api_key, app["id"], users)


def stored_events(database: str, app_id: str) -> Counter[str]:
    """Events about the soak's application, and administrators' edits."""
    with connect(database) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT type, COUNT(*) FROM audit_event"
            " WHERE application_id = %s OR type = 'admin.user.updated' GROUP BY type",
            (app_id,),
        )
        return Counter({str(kind): int(n) for kind, n in cur.fetchall()})


def wait_for_audit(
    database: str, app_id: str, expected: dict[str, int], timeout: float = 120.0
) -> Counter[str]:
    """Poll until every expected count is stored, or nothing more arrives for 15 s."""
    deadline, last, quiet_since = time.monotonic() + timeout, Counter[str](), time.monotonic()
    while True:
        stored = stored_events(database, app_id)
        if all(stored[kind] >= n for kind, n in expected.items()):
            return stored
        if stored != last:
            last, quiet_since = stored, time.monotonic()
        if time.monotonic() - quiet_since > 15 or time.monotonic() > deadline:
            return stored
        time.sleep(0.5)


def count(soak: Soak, label: str, status: str) -> int:
    return soak.statuses[label, status]


def report(soak: Soak, samples: dict[str, list[float]], stored: Counter[str], warm: int) -> bool:
    """Print the three tables; True when there was no 5xx and no audit event is missing."""
    rows = sorted((label, status, n) for (label, status), n in soak.statuses.items())
    print(markdown_table(["endpoint", "status", "requests"], rows, "llr"))
    errors = sum(n for (_, status), n in soak.statuses.items() if status.startswith("5"))
    failed = sum(n for (_, status), n in soak.statuses.items() if not status[0].isdigit())
    print(f"\n5xx responses: {errors}; transport errors / missing SMS: {failed}")
    for line in soak.server_errors:
        print(f"  {line}")
    print()
    rss_rows = []
    for name, values in sorted(samples.items()):
        base = values[min(warm, len(values) - 1)]
        # Memory handed back after warm-up is no concern; growth is.
        flat = "yes" if values[-1] <= (1 + FLAT_TOLERANCE) * base else "NO"
        rss_rows.append((name, f"{values[0]:.1f}", f"{base:.1f}", f"{values[-1]:.1f}",
                         f"{max(values):.1f}", flat))  # fmt: skip
    columns = ["process", "first MiB", "after warm-up", "last MiB", "max MiB", "flat"]
    print(markdown_table(columns, rss_rows, "lrrrrl"))
    expected = expected_events(soak)
    audit_rows = [(kind, n, stored[kind], "ok" if stored[kind] == n else "MISMATCH")
                  for kind, n in expected.items()]  # fmt: skip
    print()
    print(markdown_table(["audit event", "expected", "stored", ""], audit_rows, "lrrl"))
    return errors == 0 and all(stored[kind] == n for kind, n in expected.items())


def expected_events(soak: Soak) -> dict[str, int]:
    """What the calls must have left in the audit log (the setup made no user edits)."""
    return {
        "api.call": soak.app_calls,
        "admin.user.updated": count(soak, "PATCH /directory/users/{id}", "200"),
        "login.succeeded": count(soak, "POST /auth/login", "200")
        + count(soak, "POST /auth/otp/verify", "200"),
        "otp.sent": count(soak, "POST /auth/otp/request", "202"),
    }


async def traffic(soak: Soak, stack: Stack, sms: SmsBox, seconds: float, concurrency: int) -> Any:
    samples: dict[str, list[float]] = {}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(stack, samples, stop))
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(soak.worker(soak.users[i], sms, deadline) for i in range(concurrency)))
    stop.set()
    await sampler
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    seconds = args.minutes * 60
    sink = HttpSink()
    with scratch_database("soak") as database, redis_prefix("soak") as prefix:
        run_dir = tempfile.mkdtemp(prefix="identity-soak-")
        stack = Stack(stack_config(database.url, prefix, Path(run_dir)))
        print(f"starting the stack (logs in {run_dir}/logs) ...", flush=True)
        try:
            stack.up(migrate=False)  # stops whatever it started if it fails
            setup = initial_setup(stack.config.gateway_url, sink, args.concurrency)
            print(f"soaking for {seconds:.0f} s with {args.concurrency} callers", flush=True)
            soak_ok = asyncio.run(run(stack, database.name, setup, sink, seconds))
        finally:
            stack.down()
            sink.stop()
    if soak_ok:
        shutil.rmtree(run_dir)
    else:
        print(f"FAILED; the processes' logs and Traefik's access log are in {run_dir}/logs")
    return 0 if soak_ok else 1


async def run(stack: Stack, database: str, setup: Setup, sink: HttpSink, seconds: float) -> bool:
    limits = httpx.Limits(max_connections=len(setup.users))
    async with httpx.AsyncClient(
        base_url=stack.config.gateway_url, limits=limits, timeout=30.0
    ) as http:
        soak = Soak(http, setup.api_key, setup.users)
        soak.admin_headers = {"Authorization": f"Bearer {setup.admin_token}"}
        started = time.monotonic()
        samples = await traffic(soak, stack, SmsBox(sink), seconds, len(setup.users))
        took = time.monotonic() - started
    total = sum(soak.statuses.values())
    print(f"{total} requests in {took:.0f} s ({total / took:.0f}/s)", flush=True)
    print("waiting for the audit consumer to store every event ...", flush=True)
    expected = expected_events(soak)
    stored = await asyncio.to_thread(wait_for_audit, database, setup.app_id, expected)
    # RSS is compared with the sample taken once warmed up: argon2id's memory and the
    # thread pools are allocated by the first concurrent sign-ins, then reused.
    warm = round(min(60.0, max(30.0, seconds / 3)) / RSS_EVERY)
    return report(soak, samples, stored, warm)


if __name__ == "__main__":
    sys.exit(main())
