"""Argon2id password hashing: default parameters, normalisation, dummy hash, rehash."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.security.passwords import HASHING_NICENESS, PasswordHashing, normalize_password
from shared.settings import Settings


def _default(name: str) -> int:
    value = Settings.model_fields[name].default
    assert isinstance(value, int)
    return value


@pytest.fixture(scope="module")
def hashing() -> PasswordHashing:
    """A hasher with the settings' defaults, as production runs it."""
    return PasswordHashing(
        time_cost=_default("argon2_time_cost"),
        memory_kib=_default("argon2_memory_kib"),
        parallelism=_default("argon2_parallelism"),
    )


def test_default_hash_is_argon2id_with_owasp_parameters(hashing: PasswordHashing) -> None:
    hashed = hashing.hash("correct horse battery staple")
    assert hashed.startswith("$argon2id$v=19$")
    assert "$m=19456,t=2,p=1$" in hashed
    assert "correct horse" not in hashed


def test_same_password_gets_a_new_salt_each_time(hashing: PasswordHashing) -> None:
    assert hashing.hash("correct horse battery staple") != hashing.hash(
        "correct horse battery staple"
    )


def test_verify_accepts_the_right_password(hashing: PasswordHashing) -> None:
    stored = hashing.hash("correct horse battery staple")
    result = hashing.verify(stored, "correct horse battery staple")
    assert result.ok
    assert result.new_hash is None


@pytest.mark.parametrize(
    "attempt", ["correct horse battery stapl", "Correct horse battery staple", "", " " * 5]
)
def test_verify_rejects_a_wrong_password(hashing: PasswordHashing, attempt: str) -> None:
    stored = hashing.hash("correct horse battery staple")
    assert hashing.verify(stored, attempt).ok is False


def test_compatibility_characters_are_normalised(hashing: PasswordHashing) -> None:
    # "ﬁ" (U+FB01) is what some keyboards and autocorrect produce for "fi".
    assert normalize_password("\ufb01refly") == "firefly"
    stored = hashing.hash("\ufb01refly-over-the-lake")
    assert hashing.verify(stored, "firefly-over-the-lake").ok
    # Full-width digits typed on an East Asian keyboard are the same password too.
    stored = hashing.hash("tea-time-at-1234")
    assert hashing.verify(stored, "tea-time-at-\uff11\uff12\uff13\uff14").ok


@pytest.mark.parametrize("stored", [None, ""])
def test_unknown_user_fails_through_the_dummy_hash(
    hashing: PasswordHashing, stored: str | None
) -> None:
    result = hashing.verify(stored, "dummy password for timing equalisation")
    assert result.ok is False
    assert result.new_hash is None


@pytest.mark.parametrize("stored", ["not-a-hash", "$argon2id$v=19$m=1,t=1,p=1$broken"])
def test_corrupt_stored_hash_fails_without_raising(hashing: PasswordHashing, stored: str) -> None:
    assert hashing.verify(stored, "anything at all").ok is False


def test_outdated_parameters_produce_a_rehash(hashing: PasswordHashing) -> None:
    stronger = PasswordHashing(time_cost=3, memory_kib=19456, parallelism=1)
    stored = hashing.hash("correct horse battery staple")
    result = stronger.verify(stored, "correct horse battery staple")
    assert result.ok
    assert result.new_hash is not None
    assert "$m=19456,t=3,p=1$" in result.new_hash
    # The new hash verifies and is now current.
    again = stronger.verify(result.new_hash, "correct horse battery staple")
    assert again.ok
    assert again.new_hash is None


def test_wrong_password_with_outdated_parameters_gives_no_rehash(hashing: PasswordHashing) -> None:
    stronger = PasswordHashing(time_cost=3, memory_kib=19456, parallelism=1)
    result = stronger.verify(hashing.hash("correct horse battery staple"), "wrong guess!!")
    assert result.ok is False
    assert result.new_hash is None


def test_hashing_runs_on_a_bounded_pool_of_low_priority_threads() -> None:
    """Sign-in bursts queue for hashing instead of taking every core from the event loop."""
    caller_priority = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    hashing = PasswordHashing(time_cost=2, memory_kib=19456, parallelism=1, threads=2)
    stored = hashing.hash("correct horse battery staple")
    seen: list[tuple[int, int, int]] = []
    real = hashing._hasher

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def verify(self, hash_: str, password: str) -> bool:
            thread = threading.get_native_id()
            nice = os.getpriority(os.PRIO_PROCESS, thread)
            seen.append((thread, nice, os.sched_getscheduler(0)))
            return real.verify(hash_, password)

    hashing._hasher = Spy()  # type: ignore[assignment]
    with ThreadPoolExecutor(max_workers=8) as callers:
        results = list(
            callers.map(lambda _: hashing.verify(stored, "correct horse battery staple"), range(8))
        )
    assert all(r.ok for r in results)
    assert len(seen) == 8
    assert len({thread for thread, _, _ in seen}) <= 2
    assert {thread for thread, _, _ in seen}.isdisjoint({threading.get_native_id()})
    assert all(nice >= HASHING_NICENESS for _, nice, _ in seen)
    # Any other thread that wakes up preempts them (Linux, where these tests run).
    assert {policy for _, _, policy in seen} == {os.SCHED_IDLE}
    # The caller's own priority is untouched.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller_priority
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
