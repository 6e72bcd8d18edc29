"""The invalidation bus: a handler's failure or a lost message costs one resync period at most."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from shared.invalidation import InvalidationBus, Topic
from shared.models.console import PlatformSetting
from shared.runtime import Runtime


def _eventually(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def channel(runtime: Runtime) -> str:
    return runtime.keys("invalidate-test", uuid.uuid4().hex)


@pytest.fixture
def listening(runtime: Runtime, channel: str) -> Iterator[InvalidationBus]:
    bus = InvalidationBus(runtime.redis, channel, resync_seconds=0.3)
    yield bus
    bus.stop()


def test_a_failing_handler_does_not_stop_the_listener_or_other_handlers(
    runtime: Runtime, channel: str, listening: InvalidationBus
) -> None:
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise ValueError("a handler bug")

    listening.subscribe(Topic.PLATFORM, broken)
    listening.subscribe(Topic.PLATFORM, lambda: calls.append("platform"))
    listening.subscribe(Topic.API_KEYS, lambda: calls.append("keys"))
    listening.start()
    assert _eventually(lambda: "keys" in calls)  # the resync after subscribing
    calls.clear()
    publisher = InvalidationBus(runtime.redis, channel)
    publisher.publish(Topic.PLATFORM)
    publisher.publish(Topic.API_KEYS)
    assert _eventually(lambda: {"broken", "platform", "keys"} <= set(calls))


def test_every_cache_is_dropped_again_each_resync_period_without_any_message(
    listening: InvalidationBus,
) -> None:
    dropped = threading.Semaphore(0)
    listening.subscribe(Topic.API_KEYS, dropped.release)
    listening.start()
    for _ in range(3):  # the first on subscribing, then one per period
        assert dropped.acquire(timeout=3)


def test_a_platform_change_whose_message_was_lost_arrives_within_the_resync(
    runtime: Runtime, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shared.invalidation.RESYNC_SECONDS", 0.3)
    replica = Runtime(settings)
    replica.start()
    try:
        with runtime.session_factory() as session:
            session.merge(PlatformSetting(key="otp_length", value=9))
            session.commit()
        # No publish: the message was lost (Redis blip, the publisher died after commit).
        assert _eventually(lambda: replica.settings.otp_length == 9)
    finally:
        replica.stop()
        replica.close()
