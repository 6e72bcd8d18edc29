"""Argon2id password hashing with a dummy hash so unknown users cost the same as wrong passwords.

Hashing runs in a small pool of worker processes, one per usable CPU, shared by every
`PasswordHashing` of the OS process and started on first use. A burst of
sign-ins then queues there instead of taking every core from the event loop
that answers `/auth/session`, and at most that many argon2 buffers (19 MiB
each by default) exist: with one per request thread, glibc kept one per
thread's arena and the auth service grew by hundreds of MiB under sign-in
load.

Each hashing process starts a session of its own (`setsid`) and lowers itself
as far as Linux lets it: `SCHED_IDLE`, nice 19, and its session's autogroup at
nice 19. Linux schedules each session (autogroup) or cgroup as one entity with
a share of its own, whatever the priorities of the threads inside, and lets a
thread preempt an idle-priority one at once only inside the same group. Hashing
threads inside the auth process were preempted at once by its event loop, but
not by Redis, Traefik or MariaDB in groups of their own, and a session check
waits for several of those wake-ups (bench/README.md, "The session check under
sign-ins"). A group of its own at the lowest weight yields to all of them. In
a container the hashing shares its cgroup's weight instead; compose gives Redis
a larger one.

A hashing process that dies (killed, out of memory) breaks the pool: the call
in flight is retried once on a fresh one. Hashing processes leave when their
parent does, however it ends.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import threading
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD_LENGTH = 128
# Nice value of the hashing processes and of their autogroup (0 is normal, 19 the lowest).
HASHING_NICENESS = 19
# How often a hashing process looks whether its parent is still there (seconds).
PARENT_CHECK_SECONDS = 1.0

T = TypeVar("T")


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on two keyboards hashes the same (NIST 800-63B)."""
    return unicodedata.normalize("NFKC", password)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used outdated parameters


@dataclass(frozen=True)
class Argon2Parameters:
    time_cost: int
    memory_kib: int
    parallelism: int


class PasswordHashing:
    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, processes: int | None = None
    ) -> None:
        """`processes`: the size of this OS process's hashing pool (None: one per usable CPU);
        the pool is shared, so the last one configured counts."""
        self._parameters = Argon2Parameters(time_cost, memory_kib, parallelism)
        HASHING_POOL.resize(processes)
        self._dummy_hash = _hasher(self._parameters).hash("dummy password for timing equalisation")

    def hash(self, password: str) -> str:
        return HASHING_POOL.run(_hash, self._parameters, normalize_password(password))

    def verify(self, stored_hash: str | None, password: str) -> VerifyResult:
        """Check a password; with no stored hash, burn the same time and fail."""
        return HASHING_POOL.run(
            _verify, self._parameters, self._dummy_hash, stored_hash, normalize_password(password)
        )

    def stop(self) -> None:
        """Stop this OS process's hashing processes (shared: call when the process's
        services stop; the next call starts them again)."""
        HASHING_POOL.stop()


class HashingPool:
    """The hashing processes of this OS process (a forked child starts its own)."""

    def __init__(self, processes: int | None = None) -> None:
        self._size = processes  # None: one per usable CPU when the processes start
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._owner = 0  # the pid that started the executor

    def run(self, function: Callable[..., T], *args: object) -> T:
        executor = self._current()
        try:
            return self._submit(executor, function, *args).result()
        except BrokenProcessPool:
            self._discard(executor)
            return self._current().submit(function, *args).result()

    def _submit(
        self, executor: ProcessPoolExecutor, function: Callable[..., T], *args: object
    ) -> Future[T]:
        try:
            return executor.submit(function, *args)
        except RuntimeError:
            if executor is self._executor:
                raise
            # `stop` shut it down after `_current` handed it out: take the next one.
            return self._current().submit(function, *args)

    def stop(self) -> None:
        """Let the hashing processes finish what they hold and exit (the service is
        stopping; the next call starts new ones). Their queues' semaphores are released
        with them: a uvicorn worker that left them behind made its parent warn of
        "leaked semaphore objects" at shutdown."""
        with self._lock:
            executor, self._executor = self._executor, None
            owned = self._owner == os.getpid()
        if executor is not None and owned:
            executor.shutdown(wait=True)

    def resize(self, processes: int | None) -> None:
        """Use `processes` hashing processes (None: one per usable CPU) from the next call on;
        calls already running on the old ones finish there."""
        with self._lock:
            if processes == self._size:
                return
            self._size = processes
            old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False)

    def pids(self) -> list[int]:
        """The hashing processes running now (for tests and operators)."""
        executor = self._executor
        if executor is None or self._owner != os.getpid():
            return []
        return [p.pid for p in list(executor._processes.values()) if p.is_alive() and p.pid]

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None or self._owner != os.getpid():
                self._executor = ProcessPoolExecutor(
                    max_workers=self._size or usable_cpus(),
                    # Not fork: the parent has threads (uvicorn's, the request threads') and a
                    # lock one of them held would stay held in the child.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_become_hashing_process,
                    initargs=(os.getpid(),),
                )
                self._owner = os.getpid()
            return self._executor

    def _discard(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)


def usable_cpus() -> int:
    """The CPUs this process may run on (a `cpuset` or `taskset` narrows them), else all."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


HASHING_POOL = HashingPool()


# What runs in the hashing processes.


@functools.cache
def _hasher(parameters: Argon2Parameters) -> PasswordHasher:
    return PasswordHasher(
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_kib,
        parallelism=parameters.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def _hash(parameters: Argon2Parameters, password: str) -> str:
    return _hasher(parameters).hash(password)


def _verify(
    parameters: Argon2Parameters, dummy_hash: str, stored_hash: str | None, candidate: str
) -> VerifyResult:
    hasher = _hasher(parameters)
    if not stored_hash:
        with contextlib.suppress(VerificationError):
            hasher.verify(dummy_hash, candidate + "\x00")
        return VerifyResult(ok=False)
    try:
        hasher.verify(stored_hash, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return VerifyResult(ok=False)
    if hasher.check_needs_rehash(stored_hash):
        return VerifyResult(ok=True, new_hash=hasher.hash(candidate))
    return VerifyResult(ok=True)


def _become_hashing_process(parent: int) -> None:
    """Leave the parent's scheduling group for one of its own at the lowest priority."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed
        os.setsid()
    # An autogroup belongs to the whole session: only ever lower one of our own, never the
    # parent's (which holds the service, and, under `make stack`, Traefik and the rest).
    if hasattr(os, "getsid") and os.getsid(0) == os.getpid():
        with contextlib.suppress(OSError):  # no autogroups (a container's cgroup decides there)
            Path("/proc/self/autogroup").write_text(str(HASHING_NICENESS))
    with contextlib.suppress(OSError, AttributeError):
        niceness = max(os.getpriority(os.PRIO_PROCESS, 0), HASHING_NICENESS)
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    threading.Thread(target=_leave_with, args=(parent,), name="parent-watch", daemon=True).start()


def _leave_with(parent: int) -> None:
    """Exit as soon as the parent is gone, even if it was SIGKILLed (re-parented to init)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)
