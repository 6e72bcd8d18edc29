"""The process-wide resources every service uses: DB, Redis, encryption, audit, invalidation.

One `Runtime` per process. In the embedded dev mode all five services share
one; behind Traefik each service process has its own.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable

import redis
import redis.asyncio
import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shared.audit import AuditEmitter
from shared.db import create_db_engine, create_session_factory
from shared.invalidation import InvalidationBus, Topic
from shared.otp_contract import OtpDeliveryTask
from shared.otp_sender import CeleryOtpSender, OtpSender
from shared.pipeline import AppPipeline
from shared.platform import CONSOLE_SETTINGS, apply_overrides, stored_overrides
from shared.redis_client import BatchedRedis, Keys, create_async_redis, create_redis
from shared.security.encryption import SecretBox
from shared.security.passwords import PasswordHashing
from shared.settings import Settings
from shared.tokens import TokenService

log = structlog.get_logger("runtime")


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.base_settings = settings
        # A copy: the console's platform settings are laid over it in place, so
        # the object every service holds stays the same one.
        self.settings = settings.model_copy()
        self.engine: Engine = create_db_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        self.session_factory: sessionmaker[Session] = create_session_factory(self.engine)
        self.redis: redis.Redis = create_redis(settings.redis_url)
        self._async_redis: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, redis.asyncio.Redis
        ] = weakref.WeakKeyDictionary()
        self._batched_redis: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BatchedRedis] = (
            weakref.WeakKeyDictionary()
        )
        self.keys = Keys(settings.redis_prefix)
        self.box = SecretBox(settings.secret_keys())
        self.passwords = PasswordHashing(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            processes=settings.password_hashing_processes or None,
        )
        self.audit = AuditEmitter(self.redis, self.keys.audit_stream)
        self.bus = InvalidationBus(self.redis, self.keys.invalidation_channel)
        self.bus.subscribe(Topic.PLATFORM, self.reload_platform_settings)
        self.tokens = TokenService(self.session_factory, self.box, self.bus, issuer=settings.issuer)
        self._lock = threading.Lock()
        self._users = 0
        self._pipeline: AppPipeline | None = None
        # Set by the embedded mode to deliver in-process; otherwise Celery.
        self.otp_sender: OtpSender | None = None
        self._background: list[tuple[Callable[[], None], Callable[[], None]]] = []

    def reload_platform_settings(self) -> None:
        """Lay the console's platform settings over the environment's (start, Topic.PLATFORM)."""
        try:
            with self.session_factory() as session:
                overrides = stored_overrides(session)
        except SQLAlchemyError as exc:  # keep what we had; the next change retries
            log.warning("platform_settings_unavailable", error=type(exc).__name__)
            return
        effective = apply_overrides(self.base_settings, overrides)
        for name in CONSOLE_SETTINGS:
            setattr(self.settings, name, getattr(effective, name))

    @property
    def app_pipeline(self) -> AppPipeline:
        """The app-facing pipeline; one per process so its key cache is shared."""
        if self._pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    pipeline = AppPipeline(self.session_factory, self)
                    self._pipeline = pipeline
                    self._background.append((pipeline.start, pipeline.stop))
                    if self._users:
                        pipeline.start()
        return self._pipeline

    def async_redis(self) -> redis.asyncio.Redis:
        """An asyncio Redis client for the running event loop.

        One per loop: asyncio connections belong to the loop that opened them,
        and tests run several apps, each on a loop of its own, in one process.
        """
        loop = asyncio.get_running_loop()
        client = self._async_redis.get(loop)
        if client is None:
            client = create_async_redis(self.settings.redis_url)
            self._async_redis[loop] = client
        return client

    def batched_redis(self) -> BatchedRedis:
        """The hot path's Redis for the running loop: concurrent requests' commands
        go in one pipeline (`BatchedRedis`)."""
        loop = asyncio.get_running_loop()
        batched = self._batched_redis.get(loop)
        if batched is None:
            batched = BatchedRedis(self.async_redis())
            self._batched_redis[loop] = batched
        return batched

    def send_otp(self, task: OtpDeliveryTask) -> None:
        """Hand a code to the otp-delivery worker (call after the transaction commits)."""
        if self.otp_sender is None:
            self.otp_sender = CeleryOtpSender.from_settings(self.settings, self.box)
        self.otp_sender(task)

    def add_background(self, start: Callable[[], None], stop: Callable[[], None]) -> None:
        """Register a background worker started and stopped with the runtime."""
        self._background.append((start, stop))
        if self._users:
            start()

    def start(self) -> None:
        """Reference-counted: the first service to start starts the shared threads."""
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            self.reload_platform_settings()
            self.bus.start()
            for start, _ in self._background:
                start()

    def stop(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            for _, stop in reversed(self._background):
                stop()
            self.bus.stop()
            self.passwords.stop()

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()
