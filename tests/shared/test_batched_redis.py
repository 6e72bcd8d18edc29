"""`BatchedRedis`: concurrent requests' commands share a pipeline, each gets its own reply."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import redis
import redis.asyncio

from shared.redis_client import BatchedRedis, create_async_redis
from shared.runtime import Runtime
from tests.loops import in_new_loop


class CountingClient:
    """The real asyncio client, counting the writes (round trips) made on its connections."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.response_callbacks = client.response_callbacks
        self.connection_pool = self
        self._pool = client.connection_pool
        self.pipelines = 0

    async def get_connection(self) -> Any:
        connection = await self._pool.get_connection()
        send = connection.send_packed_command

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.pipelines += 1
            return await send(*args, **kwargs)

        connection.send_packed_command = counted
        return connection

    async def release(self, connection: Any) -> None:
        del connection.send_packed_command  # the connection's own method again
        await self._pool.release(connection)


def run(coroutine_factory: Any, runtime: Runtime) -> Any:
    async def main() -> Any:
        client = create_async_redis(runtime.settings.redis_url)
        try:
            return await coroutine_factory(client)
        finally:
            await client.aclose()

    return in_new_loop(main)


def test_concurrent_commands_go_in_one_round_trip_with_their_own_replies(runtime: Runtime):
    keys = [runtime.keys("batch-test", str(n)) for n in range(50)]

    async def scenario(client: redis.asyncio.Redis) -> tuple[list[Any], int]:
        counting = CountingClient(client)
        batched = BatchedRedis(counting)  # type: ignore[arg-type]
        replies = await asyncio.gather(
            *(batched.execute("INCRBY", key, n) for n, key in enumerate(keys))
        )
        return replies, counting.pipelines

    replies, pipelines = run(scenario, runtime)
    assert replies == list(range(50))
    assert pipelines == 1
    assert [int(runtime.redis.get(key)) for key in keys] == list(range(50))


def test_commands_issued_while_a_batch_is_in_flight_go_in_the_next_one(runtime: Runtime):
    key = runtime.keys("batch-test", "sequence")

    async def scenario(client: redis.asyncio.Redis) -> tuple[list[Any], int]:
        counting = CountingClient(client)
        batched = BatchedRedis(counting)  # type: ignore[arg-type]
        first = asyncio.ensure_future(batched.execute("RPUSH", key, "a"))
        await asyncio.sleep(0)  # the first batch is now on the wire
        rest = [asyncio.ensure_future(batched.execute("RPUSH", key, v)) for v in "bcd"]
        return await asyncio.gather(first, *rest), counting.pipelines

    replies, pipelines = run(scenario, runtime)
    assert replies == [1, 2, 3, 4]
    assert pipelines == 2
    assert runtime.redis.lrange(key, 0, -1) == ["a", "b", "c", "d"]


def test_one_failing_command_fails_only_its_own_caller(runtime: Runtime):
    text_key = runtime.keys("batch-test", "text")
    runtime.redis.set(text_key, "not a list")

    async def scenario(client: redis.asyncio.Redis) -> list[Any]:
        batched = BatchedRedis(client)
        return await asyncio.gather(
            batched.execute("SET", runtime.keys("batch-test", "ok"), "1"),
            batched.execute("LPUSH", text_key, "x"),
            batched.mget([runtime.keys("batch-test", "ok"), text_key]),
            return_exceptions=True,
        )

    ok, wrong_type, values = run(scenario, runtime)
    assert ok is True
    assert isinstance(wrong_type, redis.ResponseError)
    assert values == ["1", "not a list"]


def test_a_command_redis_cannot_take_fails_only_its_own_caller(runtime: Runtime):
    key = runtime.keys("batch-test", "typed")

    async def scenario(client: redis.asyncio.Redis) -> tuple[list[Any], int]:
        counting = CountingClient(client)
        batched = BatchedRedis(counting)  # type: ignore[arg-type]
        outcomes = await asyncio.gather(
            batched.execute("SET", key, "1"),
            batched.execute("SET", runtime.keys("batch-test", "none"), None),
            batched.execute("INCRBY", key, 2),
            return_exceptions=True,
        )
        return outcomes, counting.pipelines

    (first, bad, third), pipelines = run(scenario, runtime)
    assert first is True and third == 3
    assert isinstance(bad, redis.DataError)
    assert pipelines == 1  # the others still went together
    assert runtime.redis.get(runtime.keys("batch-test", "none")) is None


def test_commands_are_sent_as_the_client_itself_would_pack_them(runtime: Runtime):
    stream = runtime.keys("batch-test", "packed")
    text = "ünïcode ✓ and spaces"

    async def scenario(client: redis.asyncio.Redis) -> list[Any]:
        batched = BatchedRedis(client)
        return await asyncio.gather(
            batched.xadd(stream, {"text": text, "bytes": b"\x00\xff raw", "n": 7, "f": 1.5}),
            batched.execute("SET", runtime.keys("batch-test", "k"), text),
            batched.mget([runtime.keys("batch-test", "k"), runtime.keys("batch-test", "nil")]),
        )

    _, stored, values = run(scenario, runtime)
    assert stored is True
    assert values == [text, None]
    raw = redis.Redis.from_url(runtime.settings.redis_url)  # bytes, not decoded
    [(_, fields)] = raw.xrange(stream)
    raw.close()
    assert fields == {b"text": text.encode(), b"bytes": b"\x00\xff raw", b"n": b"7", b"f": b"1.5"}


def test_with_redis_unreachable_every_waiting_caller_gets_the_error_and_it_recovers(
    runtime: Runtime,
):
    async def scenario(_: redis.asyncio.Redis) -> tuple[list[Any], Any]:
        # Port 9 (discard) on loopback: nothing listens, the connection is refused.
        dead = redis.asyncio.Redis(host="127.0.0.1", port=9, socket_connect_timeout=1)
        batched = BatchedRedis(dead)
        outcomes = await asyncio.gather(
            *(batched.execute("PING") for _ in range(5)), return_exceptions=True
        )
        # The batcher holds no broken state: pointed at a live server it works again.
        batched._client = create_async_redis(runtime.settings.redis_url)
        after = await batched.execute("PING")
        await dead.aclose()
        return outcomes, after

    outcomes, after = run(scenario, runtime)
    assert all(isinstance(o, redis.ConnectionError) for o in outcomes)
    assert after is True


def test_a_caller_that_goes_away_does_not_disturb_the_others(runtime: Runtime):
    stream = runtime.keys("batch-test", "stream")

    async def scenario(client: redis.asyncio.Redis) -> list[Any]:
        batched = BatchedRedis(client)
        gone = asyncio.ensure_future(batched.xadd(stream, {"n": "0"}))
        kept = [asyncio.ensure_future(batched.xadd(stream, {"n": str(n)})) for n in (1, 2)]
        await asyncio.sleep(0)
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone
        return await asyncio.gather(*kept)

    ids = run(scenario, runtime)
    assert len(ids) == 2
    # The cancelled caller's command was already queued: it is still sent (an
    # audit event of a call that happened is kept), and the others got their own ids.
    assert [f["n"] for _, f in runtime.redis.xrange(stream)] == ["0", "1", "2"]
    assert [i for i, _ in runtime.redis.xrange(stream)][1:] == ids


def test_each_event_loop_gets_its_own_batcher(runtime: Runtime):
    async def one() -> BatchedRedis:
        batched = runtime.batched_redis()
        assert await batched.execute("PING") is True
        assert runtime.batched_redis() is batched
        return batched

    first, second = in_new_loop(one), in_new_loop(one)
    assert first is not second
