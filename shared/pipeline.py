"""The app-facing request pipeline (DESIGN.md §4), as one reusable dependency.

Order: API key -> application -> application status -> fail-closed IP policy
-> handler -> audit event. Every `/auth/*` and `/users/sync` endpoint takes
`CallingApp` and gets all of it.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import redis
import structlog
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from shared.audit import AuditRecord, EventType, Outcome
from shared.client_ip import ClientAddress, IPNetwork, ip_allowed, resolve_client_ip
from shared.errors import Forbidden, ServiceError, Unauthorized
from shared.invalidation import Topic
from shared.models import ApiKey, Application
from shared.security.api_keys import hash_api_key, hashes_match, parse_prefix

log = structlog.get_logger("pipeline")

API_KEY_HEADER = "X-Auth-Service-Key"
MAX_CACHED_KEYS = 10_000


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"
    message = "Missing or invalid API auth key."


class AppDisabled(Forbidden):
    code = "app_disabled"
    message = "This application is disabled."


class IpNotAllowed(Forbidden):
    code = "ip_not_allowed"
    message = "Request rejected by IP policy."


@dataclass(frozen=True)
class AppSnapshot:
    """What the pipeline needs of an application, cached for a few seconds."""

    id: uuid.UUID
    name: str
    status: str
    networks: tuple[IPNetwork, ...]
    key_id: uuid.UUID


@dataclass
class CallerContext:
    app: AppSnapshot
    client: ClientAddress
    user_agent: str | None
    # Handlers fill these so the audit event names who the call was about.
    subject_user_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class KeyUsage:
    """`last_used_at` per key, kept in memory and flushed in one Redis write every few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[uuid.UUID, float] = {}

    def touch(self, key_id: uuid.UUID) -> None:
        # Every app call passes here: the clock is read raw and formatted at the flush.
        with self._lock:
            self._pending[key_id] = time.time()

    def drain(self) -> dict[str, str]:
        with self._lock:
            pending, self._pending = self._pending, {}
        return {str(k): datetime.fromtimestamp(t, UTC).isoformat() for k, t in pending.items()}


class AppPipeline:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        runtime: Any,
    ) -> None:
        self._session_factory = session_factory
        self._runtime = runtime
        self._ttl = runtime.settings.api_key_cache_seconds
        self._cache: dict[str, tuple[float, AppSnapshot | None]] = {}
        # Bumped on every invalidation: a lookup that started before a key was
        # deleted must not put the stale answer back into the fresh cache.
        self._generation = 0
        self._inflight: dict[str, tuple[int, Future[AppSnapshot | None]]] = {}
        # Reentrant: a load done before its callback is added runs the callback at once.
        self._inflight_lock = threading.RLock()
        self._loader = ThreadPoolExecutor(max_workers=4, thread_name_prefix="api-key-load")
        self.usage = KeyUsage()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        runtime.bus.subscribe(Topic.API_KEYS, self.invalidate)

    # -- key -> application ------------------------------------------------
    def _load(self, key_hash: str, prefix: str) -> AppSnapshot | None:
        with self._session_factory() as session:
            key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
            if key is None or key.status != "active" or not hashes_match(key.key_hash, key_hash):
                return None
            app = session.scalar(
                select(Application)
                .options(selectinload(Application.networks))
                .where(Application.id == key.application_id)
            )
            if app is None:
                return None
            networks = tuple(_network(n.cidr) for n in app.networks)
            return AppSnapshot(app.id, app.name, app.status, networks, key.id)

    async def lookup(self, plaintext: str) -> AppSnapshot | None:
        """The application a key names; from memory when seen a moment ago, else MySQL."""
        prefix = parse_prefix(plaintext)
        if prefix is None:
            return None
        key_hash = hash_api_key(plaintext)
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        generation, load = self._load_once(key_hash, prefix)
        snapshot = await asyncio.wrap_future(load)
        if generation == self._generation:
            if len(self._cache) >= MAX_CACHED_KEYS:
                # Random well-formed keys would otherwise grow it without bound.
                self._cache.clear()
            self._cache[key_hash] = (now + self._ttl, snapshot)
        return snapshot

    def _load_once(self, key_hash: str, prefix: str) -> tuple[int, Future[AppSnapshot | None]]:
        """One MySQL read per key at a time: when a popular key's entry expires,
        every request waiting for it shares that read instead of each opening a
        connection of its own (which made p99 spike every few seconds).

        Only a read begun since the last invalidation is shared: one begun before
        may hold a key deleted meanwhile, and is answered to its own caller only.
        """
        with self._inflight_lock:
            generation = self._generation
            entry = self._inflight.get(key_hash)
            if entry is None or entry[0] != generation:
                future = self._loader.submit(self._load, key_hash, prefix)
                entry = (generation, future)
                self._inflight[key_hash] = entry
                future.add_done_callback(functools.partial(self._forget, key_hash, entry))
        return entry

    def _forget(
        self,
        key_hash: str,
        entry: tuple[int, Future[AppSnapshot | None]],
        _done: Future[AppSnapshot | None],
    ) -> None:
        with self._inflight_lock:
            if self._inflight.get(key_hash) is entry:
                del self._inflight[key_hash]

    def invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()

    # -- the pipeline --------------------------------------------------------
    async def authorize(self, request: Request) -> CallerContext:
        settings = self._runtime.settings
        peer = request.client.host if request.client else None
        client = resolve_client_ip(
            peer, request.headers.get("x-forwarded-for"), settings.trusted_proxy_networks
        )
        user_agent = request.headers.get("user-agent")
        plaintext = request.headers.get(API_KEY_HEADER, "")
        app = await self.lookup(plaintext) if plaintext else None
        if app is None:
            await self._deny(EventType.API_DENIED_KEY, request, client, user_agent, None)
            raise InvalidApiKey()
        if app.status != "active":
            await self._deny(EventType.API_DENIED_APP_DISABLED, request, client, user_agent, app)
            raise AppDisabled()
        if not ip_allowed(client.effective_ip, app.networks):
            await self._deny(EventType.API_DENIED_IP, request, client, user_agent, app)
            raise IpNotAllowed()
        self.usage.touch(app.key_id)
        return CallerContext(app=app, client=client, user_agent=user_agent)

    async def _deny(
        self,
        event: EventType,
        request: Request,
        client: ClientAddress,
        user_agent: str | None,
        app: AppSnapshot | None,
    ) -> None:
        # A denial is recorded before it is answered: a Redis outage gets a 503.
        await self._runtime.audit.emit_async(
            self._runtime.batched_redis(),
            AuditRecord(
                type=event,
                outcome=Outcome.DENIED,
                actor_type="app",
                actor_id=str(app.id) if app else None,
                actor_name=app.name if app else None,
                application_id=str(app.id) if app else None,
                effective_ip=client.effective_ip,
                forwarded_ip=client.forwarded_ip,
                remote_addr=client.remote_addr,
                user_agent=user_agent,
                details={"method": request.method, "path": request.scope["path"]},
            ),
        )

    async def audit_call(
        self, ctx: CallerContext, request: Request, outcome: Outcome, code: str | None
    ) -> None:
        details = {"method": request.method, "path": request.scope["path"], **ctx.details}
        if code:
            details["error"] = code
        app_id = str(ctx.app.id)
        record = AuditRecord(
            type=EventType.API_CALL,
            outcome=outcome,
            actor_type="app",
            actor_id=app_id,
            actor_name=ctx.app.name,
            application_id=app_id,
            subject_user_id=ctx.subject_user_id,
            effective_ip=ctx.client.effective_ip,
            forwarded_ip=ctx.client.forwarded_ip,
            remote_addr=ctx.client.remote_addr,
            user_agent=ctx.user_agent,
            details=details,
        )
        try:
            await self._runtime.audit.emit_async(self._runtime.batched_redis(), record)
        except redis.RedisError as exc:
            # The call itself already happened (and committed): report, don't fail it.
            log.error("audit_emit_failed", type=record.type, uuid=record.uuid, error=str(exc))

    @asynccontextmanager
    async def call(self, request: Request) -> AsyncIterator[CallerContext]:
        """The whole pipeline around a handler: authorize, run it, record the call
        (with the outcome and error code the handler ended with)."""
        ctx = await self.authorize(request)
        outcome, code = Outcome.SUCCESS, None
        try:
            yield ctx
        except ServiceError as exc:
            outcome = Outcome.DENIED if exc.status_code in (401, 403) else Outcome.FAILURE
            code = exc.code
            raise
        except RequestValidationError:
            # FastAPI checks the query and body after this dependency has run.
            outcome, code = Outcome.FAILURE, "validation_error"
            raise
        except Exception:
            outcome, code = Outcome.FAILURE, "internal_error"
            raise
        finally:
            await self.audit_call(ctx, request, outcome, code)

    # -- last_used_at, batched ---------------------------------------------
    def flush_usage(self) -> int:
        pending = self.usage.drain()
        if pending:
            self._runtime.redis.hset(self._runtime.keys.key_usage, mapping=pending)
        return len(pending)

    def _flush_loop(self) -> None:
        interval = self._runtime.settings.key_usage_flush_seconds
        while not self._stop.wait(interval):
            try:
                self.flush_usage()
            except Exception as exc:  # keep flushing after a Redis hiccup
                log.warning("key_usage_flush_failed", error=str(exc))

    def start(self) -> None:
        self._stop.clear()
        self._flusher = threading.Thread(target=self._flush_loop, name="key-usage", daemon=True)
        self._flusher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=3)
        try:
            self.flush_usage()
        except Exception as exc:
            log.warning("key_usage_flush_failed", error=str(exc))


def _network(cidr: str) -> IPNetwork:
    import ipaddress

    return ipaddress.ip_network(cidr, strict=False)


async def calling_app(request: Request) -> AsyncIterator[CallerContext]:
    """Runs on the event loop: a known key costs no thread hop and no MySQL query."""
    pipeline: AppPipeline = request.app.state.runtime.app_pipeline
    async with pipeline.call(request) as ctx:
        yield ctx


CallingApp = Annotated[CallerContext, Depends(calling_app)]
