"""What the local stack runs: one uvicorn per service replica, the workers, and Traefik's routes.

The same names and path prefixes as the compose labels (traefik/README.md):
router and service `identity-<name>`, health checked on `<first prefix>/readyz`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DedicatedRoute:
    """Requests matching `rule` go to replicas of their own (`<service>-<suffix>`), which run
    the same app but take no other traffic, so a burst of other requests on the service
    cannot slow them. While none of those replicas is healthy, the service's own take over."""

    suffix: str
    rule: str


@dataclass(frozen=True)
class WebService:
    name: str
    app: str  # the ASGI entry point uvicorn serves
    prefixes: tuple[str, ...]
    source_dir: str  # holds the package; put on PYTHONPATH in case it is not installed
    # The console answers whatever no other service claims (its pages, its assets).
    catch_all: bool = False
    # A service the others do not need: if it fails to start, the stack runs without it.
    optional: bool = False
    dedicated: DedicatedRoute | None = None
    # What Traefik's health check asks: readiness, except for a service that must stay
    # reachable while the database or Redis is down (see the console below).
    health_check: str = "readyz"

    @property
    def ready_path(self) -> str:
        return f"{self.prefixes[0]}/readyz"

    @property
    def health_path(self) -> str:
        return f"{self.prefixes[0]}/{self.health_check}"

    def is_present(self) -> bool:
        """The console lands later than the others: until its package exists, it is left out."""
        package = self.app.split(".")[0]
        return (ROOT / self.source_dir / package / "main.py").is_file()


# Every application calls the session check on each of its own requests, while a sign-in
# costs ~30 ms of CPU (argon2id): sharing processes, a burst of sign-ins made the check's
# p99 ~10x its idle value (bench/README.md, "The session check under sign-ins").
SESSION_CHECK = DedicatedRoute("session", "Path(`/auth/session`) && Method(`GET`)")

SERVICES = (
    WebService(
        "auth",
        "auth.main:app",
        ("/auth", "/.well-known", "/account"),
        "services/auth",
        dedicated=SESSION_CHECK,
    ),
    WebService("directory", "directory.main:app", ("/directory", "/users"), "services/directory"),
    WebService("otp-delivery", "otp_delivery.main:app", ("/otp",), "services/otp-delivery"),
    WebService("audit", "audit.main:app", ("/audit",), "services/audit"),
    WebService(
        "console",
        "console.main:app",
        ("/console", "/setup"),
        "services/console",
        catch_all=True,
        optional=True,
        # Liveness: the console is where an administrator sees why MySQL or Redis is down
        # (Service setup -> Checking); taken out of Traefik then, that page would be gone.
        health_check="healthz",
    ),
)


@dataclass(frozen=True)
class Process:
    name: str  # also the log file's and the pid file's name
    argv: tuple[str, ...]
    port: int | None = None  # the uvicorn ones
    ready_path: str | None = None
    pythonpath: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class Backend:
    """A Traefik load balancer over a service's replicas, health checked."""

    name: str
    servers: tuple[str, ...]
    health_path: str
    processes: tuple[str, ...]  # the replicas behind it
    # Another backend that takes the requests while none of these servers is healthy.
    fallback: str | None = None


@dataclass(frozen=True)
class Route:
    """A Traefik router: a path rule sending requests to a backend."""

    name: str
    rule: str
    backend: str
    priority: int | None = None


def uvicorn_argv(app: str, host: str, port: int) -> tuple[str, ...]:
    # --no-proxy-headers: X-Forwarded-For is judged by shared/client_ip.py against
    # IDENTITY_TRUSTED_PROXIES, never by uvicorn. --timeout-keep-alive above Traefik's
    # idle timeout (90 s): else uvicorn closes a pooled connection just as Traefik sends a
    # POST on it, and Traefik answers 502 (it does not resend a non-idempotent request).
    return (
        sys.executable, "-m", "uvicorn", app, "--host", host, "--port", str(port),
        "--no-proxy-headers", "--no-server-header", "--timeout-graceful-shutdown", "5",
        "--timeout-keep-alive", "120",
    )  # fmt: skip


OTP_WORKER_ARGV = (
    sys.executable, "-m", "celery", "-A", "otp_delivery.worker", "worker", "-Q", "otp",
    "--concurrency", "2", "--hostname", "otp-worker@%h", "--loglevel", "INFO",
    "--without-mingle", "--without-gossip",
)  # fmt: skip

# Two audit consumers, as in docker-compose.yml: one stores ~0.45x of a raw batched
# INSERT, two ~0.8x (bench/RESULTS.md).
WORKERS = (
    Process("otp-worker", OTP_WORKER_ARGV),
    Process("audit-consumer-1", (sys.executable, "-m", "audit.consumer")),
    Process("audit-consumer-2", (sys.executable, "-m", "audit.consumer")),
)


@dataclass(frozen=True)
class Plan:
    processes: tuple[Process, ...]
    backends: tuple[Backend, ...]
    routes: tuple[Route, ...]
    skipped: tuple[str, ...]  # services whose package is not there yet


def make_plan(
    host: str, first_port: int, auth_replicas: int = 2, session_replicas: int = 1
) -> Plan:
    """Auth runs `auth_replicas` times (to show load balancing and fail-over), its session
    check `session_replicas` times (0: on the auth replicas), the others once. Ports are
    handed out in order from `first_port`: auth-1, auth-2, auth-session, directory, ..."""
    processes: list[Process] = []
    backends: list[Backend] = []
    routes: list[Route] = []
    skipped: list[str] = []
    port = first_port

    def replicas_of(service: WebService, name: str, count: int) -> tuple[list[str], list[str]]:
        nonlocal port
        names = [f"{name}-{n}" if count > 1 else name for n in range(1, count + 1)]
        for replica in names:
            processes.append(
                Process(
                    replica,
                    uvicorn_argv(service.app, host, port),
                    port=port,
                    ready_path=service.ready_path,
                    pythonpath=str(ROOT / service.source_dir),
                    optional=service.optional,
                )
            )
            port += 1
        servers = [f"http://{host}:{p.port}" for p in processes[-count:]]
        return names, servers

    for service in SERVICES:
        if not service.is_present():
            skipped.append(service.name)
            continue
        backend = f"identity-{service.name}"
        count = auth_replicas if service.name == "auth" else 1
        names, servers = replicas_of(service, service.name, count)
        backends.append(Backend(backend, tuple(servers), service.health_path, tuple(names)))
        rule = " || ".join(f"PathPrefix(`{prefix}`)" for prefix in service.prefixes)
        routes.append(Route(backend, rule, backend))
        if service.dedicated is not None and session_replicas > 0:
            name = f"{service.name}-{service.dedicated.suffix}"
            names, servers = replicas_of(service, name, session_replicas)
            dedicated = Backend(
                f"identity-{name}", tuple(servers), service.health_path, tuple(names), backend
            )
            backends.append(dedicated)
            # Above the service's own router, whose rule (by length, Traefik's default
            # priority) may well be the longer one.
            routes.append(
                Route(dedicated.name, service.dedicated.rule, dedicated.name, priority=1000)
            )
        if service.catch_all:
            routes.append(Route(f"{backend}-root", "PathPrefix(`/`)", backend, priority=1))
    return Plan(tuple(processes) + WORKERS, tuple(backends), tuple(routes), tuple(skipped))
