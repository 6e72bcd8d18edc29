"""Argon2id password hashing: default parameters, normalisation, dummy hash, rehash."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shared.security.passwords import (
    HASHING_NICENESS,
    HASHING_POOL,
    PasswordHashing,
    normalize_password,
)
from shared.settings import Settings
from tests.proc import cpu_seconds, gone, stat_fields


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


def test_hashing_runs_in_processes_of_their_own_at_the_lowest_priority(
    hashing: PasswordHashing,
) -> None:
    """Sign-in bursts queue for a few idle-priority processes in a scheduling group of their
    own, instead of taking the cores from the event loop, Traefik or Redis."""
    caller_priority = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    own_group = Path("/proc/self/autogroup")
    own_group_before = own_group.read_text() if own_group.exists() else None
    stored = hashing.hash("correct horse battery staple")
    before = {pid: cpu_seconds(pid) for pid in HASHING_POOL.pids()}
    own_before = time.process_time()
    with ThreadPoolExecutor(max_workers=8) as callers:
        results = list(
            callers.map(lambda _: hashing.verify(stored, "correct horse battery staple"), range(8))
        )
    own_cpu = time.process_time() - own_before
    assert all(r.ok for r in results)

    pids = HASHING_POOL.pids()
    assert 1 <= len(pids) <= len(os.sched_getaffinity(0))
    assert os.getpid() not in pids
    hashing_cpu = sum(cpu_seconds(pid) - before.get(pid, 0.0) for pid in pids)
    # Eight argon2id verifications at 19 MiB cost well over 0.1 s of CPU: it was spent there.
    assert hashing_cpu > 2 * own_cpu
    for pid in pids:
        fields = stat_fields(pid)
        assert int(fields[3]) == pid  # leads a session (so an autogroup) of its own
        assert int(fields[16]) == HASHING_NICENESS
        assert int(fields[38]) == os.SCHED_IDLE
        autogroup = Path(f"/proc/{pid}/autogroup")
        if autogroup.exists():  # kernels with autogroup scheduling
            assert autogroup.read_text().split()[-1] == str(HASHING_NICENESS)
    # The caller's own priority, and its session's, are untouched.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller_priority
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    if own_group_before is not None:
        assert own_group.read_text() == own_group_before


def test_a_killed_hashing_process_is_replaced_and_the_call_answered(
    hashing: PasswordHashing,
) -> None:
    stored = hashing.hash("correct horse battery staple")
    killed = HASHING_POOL.pids()
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    assert gone(killed, timeout=10)

    assert hashing.verify(stored, "correct horse battery staple").ok
    assert not hashing.verify(stored, "wrong guess!!").ok
    assert HASHING_POOL.pids()
    assert set(HASHING_POOL.pids()).isdisjoint(killed)


def test_hashing_processes_leave_when_their_parent_is_killed() -> None:
    """However the service ends (here SIGKILL, no clean-up at all), its hashing processes go."""
    script = (
        "from shared.security.passwords import HASHING_POOL, PasswordHashing\n"
        "import time\n"
        "PasswordHashing(time_cost=2, memory_kib=19456, parallelism=1).hash('x' * 12)\n"
        "print(*HASHING_POOL.pids(), flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    try:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert pids
        assert all(Path(f"/proc/{pid}").exists() for pid in pids)
    finally:
        parent.kill()
        parent.wait()
    assert gone(pids, timeout=10)


def test_the_configured_number_of_hashing_processes() -> None:
    """`IDENTITY_PASSWORD_HASHING_PROCESSES`: replicas sharing a host's CPUs split them."""
    script = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from shared.runtime import Runtime\n"
        "from shared.security.passwords import HASHING_POOL\n"
        "from shared.settings import Settings\n"
        "runtime = Runtime(Settings(password_hashing_processes=1))\n"
        "with ThreadPoolExecutor(4) as callers:\n"
        "    list(callers.map(lambda _: runtime.passwords.hash('x' * 12), range(8)))\n"
        "print(len(HASHING_POOL.pids()))\n"
    )
    configured = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "IDENTITY_ENV": "test", "IDENTITY_SECRET_KEY": secrets.token_hex(32)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert configured.stdout.strip() == "1"


def test_one_hashing_process_per_cpu_the_service_may_use() -> None:
    """Pinned to one CPU (as compose's `cpuset` or `taskset` would), a burst of sign-ins
    gets one hashing process, not one per CPU of the host."""
    script = (
        "import os\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from shared.security.passwords import HASHING_POOL, PasswordHashing\n"
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "hashing = PasswordHashing(time_cost=2, memory_kib=19456, parallelism=1)\n"
        "with ThreadPoolExecutor(4) as callers:\n"
        "    list(callers.map(lambda _: hashing.hash('x' * 12), range(8)))\n"
        "print(len(HASHING_POOL.pids()))\n"
    )
    pinned = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert pinned.stdout.strip() == "1"


def test_stop_ends_the_hashing_processes_and_the_next_call_starts_new_ones(
    hashing: PasswordHashing,
) -> None:
    stored = hashing.hash("correct horse battery staple")
    stopped = HASHING_POOL.pids()
    assert stopped
    hashing.stop()
    assert HASHING_POOL.pids() == []
    assert gone(stopped, timeout=10)

    assert hashing.verify(stored, "correct horse battery staple").ok
    assert HASHING_POOL.pids()
    assert set(HASHING_POOL.pids()).isdisjoint(stopped)


def test_a_uvicorn_style_worker_leaves_no_semaphores_behind(tmp_path: Path) -> None:
    """uvicorn `--workers` runs each worker as a spawned child; one that stopped its
    runtime leaves nothing for the parent's resource tracker to warn about."""
    script = (
        "import multiprocessing\n"
        "def worker():\n"
        "    from shared.runtime import Runtime\n"
        "    from shared.settings import Settings\n"
        "    runtime = Runtime(Settings())\n"
        "    runtime.start()\n"
        "    runtime.passwords.hash('x' * 12)\n"
        "    runtime.stop()\n"
        "if __name__ == '__main__':\n"
        "    child = multiprocessing.get_context('spawn').Process(target=worker)\n"
        "    child.start()\n"
        "    child.join()\n"
        "    print(child.exitcode)\n"
    )
    path = tmp_path / "worker.py"
    path.write_text(script)
    ran = subprocess.run(
        [sys.executable, str(path)],
        env={
            **os.environ,
            "PYTHONPATH": str(Path.cwd()),
            "IDENTITY_ENV": "test",
            "IDENTITY_SECRET_KEY": secrets.token_hex(32),
        },
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path.cwd(),
    )
    assert ran.stdout.splitlines()[-1] == "0", ran.stderr  # the worker's exit code
    assert "leaked semaphore" not in ran.stderr
