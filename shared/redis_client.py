"""Redis client factory and the key namespace every service shares."""

from __future__ import annotations

import asyncio
from typing import Any

import hiredis
import redis
import redis.asyncio


def create_redis(url: str) -> redis.Redis:
    """A client for `redis://...`, or an in-process stand-in for `memory://` (dev only)."""
    if url.startswith("memory://"):
        import fakeredis

        server = _memory_servers.setdefault(url, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server, decode_responses=True)
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
        # redis-py's default cap is 100 per process; FastAPI runs the exit of sync
        # generator dependencies (the pipeline's audit) outside the 40-thread pool,
        # so a burst of concurrent requests can need more than that.
        max_connections=1000,
    )


def create_async_redis(url: str) -> redis.asyncio.Redis:
    """The asyncio twin of `create_redis`, for the hot paths that run on the event loop."""
    if url.startswith("memory://"):
        import fakeredis

        server = _memory_servers.setdefault(url, fakeredis.FakeServer())
        return fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    return redis.asyncio.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
        max_connections=1000,
    )


_memory_servers: dict[str, Any] = {}


# A queued command and the future its caller awaits.
Waiting = tuple[tuple[Any, ...], asyncio.Future[Any]]


class BatchedRedis:
    """Commands from the concurrent requests of one event loop, sent to Redis together.

    The hot path (`/auth/session`, the app pipeline's audit event) issues one or
    two small commands per request. Each still awaits its own reply, so an audit
    event is in the stream before its call is answered; but while one batch is on
    the wire the next requests' commands queue up and go as one batch, so N
    concurrent requests cost one round trip and one pooled connection, not N.
    At low load a batch is a single command and nothing waits longer than before.
    """

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._queue: list[Waiting] = []
        self._sender: asyncio.Task[None] | None = None

    async def execute(self, *args: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((args, future))
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send())
        return await future

    async def mget(self, keys: list[str]) -> list[Any]:
        return await self.execute("MGET", *keys)

    async def xadd(self, stream: str, fields: dict[str, Any]) -> Any:
        return await self.execute("XADD", stream, "*", *_flatten(fields))

    async def _send(self) -> None:
        batch: list[Waiting] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                batch, packed = _packed(batch)
                if not batch:
                    continue
                try:
                    replies = await self._round_trip(packed, [args[0] for args, _ in batch])
                except Exception as exc:  # Redis down: every request of the batch gets the error
                    _settle(batch, error=exc)
                    continue
                for (args, future), reply in zip(batch, replies, strict=True):
                    if isinstance(reply, Exception):
                        _settle([(args, future)], error=reply)
                    elif not future.done():  # done: its request went away meanwhile
                        future.set_result(reply)
        except BaseException:
            # Cancelled (the loop is closing): nothing will send what is still queued.
            _settle(batch + self._queue, error=redis.ConnectionError("Redis batch cancelled"))
            self._queue = []
            raise
        finally:
            self._sender = None

    async def _round_trip(self, packed: bytes, names: list[str]) -> list[Any]:
        """The commands (`names`, packed) written at once on one pooled connection, and their
        replies in order (an error reply in its command's place). What a non-transactional
        pipeline does, without its per-call bookkeeping (about 20 µs of CPU per batch,
        bench/README.md). Retried on a fresh connection as the client retries any command."""
        pool = self._client.connection_pool
        connection = await pool.get_connection()
        try:
            replies = await connection.retry.call_with_retry(
                lambda: _send_and_read(connection, packed, len(names)),
                lambda _: connection.disconnect(),
            )
        finally:
            await pool.release(connection)
        # The client's own reply conversions (SET -> True, ...), as its pipeline applies them.
        callbacks = self._client.response_callbacks
        for n, name in enumerate(names):
            if name in callbacks and not isinstance(replies[n], Exception):
                replies[n] = callbacks[name](replies[n])
        return replies


def _packed(batch: list[Waiting]) -> tuple[list[Waiting], bytes]:
    """The batch's commands in the Redis protocol, packed by hiredis in C: the asyncio
    client packs in Python, 5.6 µs a command against 0.9 (bench/README.md). A command
    with an argument Redis can't take (None, say) fails its own caller and is left out.
    Command names are single words: "CONFIG GET" would go as one."""
    sendable: list[Waiting] = []
    parts: list[bytes] = []
    for args, future in batch:
        try:
            parts.append(hiredis.pack_command(args))
        except TypeError as exc:
            _settle([(args, future)], error=redis.DataError(f"{args[0]}: {exc}"))
        else:
            sendable.append((args, future))
    return sendable, b"".join(parts)


async def _send_and_read(connection: Any, packed: bytes, count: int) -> list[Any]:
    await connection.send_packed_command(packed)
    replies: list[Any] = []
    for _ in range(count):
        try:
            replies.append(await connection.read_response())
        except redis.ResponseError as exc:  # an error reply: the connection is still in step
            replies.append(exc)
    return replies


def _settle(waiting: list[Waiting], *, error: Exception) -> None:
    for _, future in waiting:
        if not future.done():
            future.set_exception(error)


def _flatten(fields: dict[str, Any]) -> list[Any]:
    return [part for pair in fields.items() for part in pair]


class Keys:
    """Names of every Redis key, stream and channel, under one deployment prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def audit_stream(self) -> str:
        return self("audit", "events")

    @property
    def directory_events(self) -> str:
        return self("directory", "events")

    @property
    def invalidation_channel(self) -> str:
        return self("invalidate")

    @property
    def key_usage(self) -> str:
        return self("api-key", "last-used")
