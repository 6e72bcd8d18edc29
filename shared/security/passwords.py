"""Argon2id password hashing with a dummy hash so unknown users cost the same as wrong passwords.

Hashing runs on a small pool of low-priority threads, one per CPU. A burst of
sign-ins then queues there instead of taking every core from the event loop
that answers `/auth/session`, and at most that many argon2 buffers (19 MiB
each by default) exist per process: with one per request thread, glibc kept
one per thread's arena and the auth service grew by hundreds of MiB under
sign-in load.

The threads are SCHED_IDLE on Linux (else at least nice 19): any
other thread that wakes up, in this process or in another of the same
scheduling group, takes the CPU from them at once. At nice 19 a hashing
thread could run on for the rest of its time slice first, and a session
check waits for several wake-ups (Traefik, the service, Redis), so that
added up (bench/README.md, "The session check under sign-ins"). Linux gives
each session (`setsid`) or cgroup a scheduling group of its own, with an
equal share whatever its threads' priorities, so this works between the
processes of one group: the stack runner starts its processes in its own
session (not one each) for that reason. A Redis or MariaDB in a group of its
own gets no such preference and waits for the hashing group's slice; compose
gives Redis a larger CPU weight for that.
"""

from __future__ import annotations

import contextlib
import os
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD_LENGTH = 128
# Nice value of the hashing threads (0 is normal, 19 the lowest priority).
HASHING_NICENESS = 19


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on two keyboards hashes the same (NIST 800-63B)."""
    return unicodedata.normalize("NFKC", password)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used outdated parameters


class PasswordHashing:
    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, threads: int | None = None
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy_hash = self._hasher.hash("dummy password for timing equalisation")
        self._pool = ThreadPoolExecutor(
            max_workers=threads or os.cpu_count() or 1,
            thread_name_prefix="argon2",
            initializer=_lower_priority,
        )

    def hash(self, password: str) -> str:
        return self._pool.submit(self._hasher.hash, normalize_password(password)).result()

    def verify(self, stored_hash: str | None, password: str) -> VerifyResult:
        """Check a password; with no stored hash, burn the same time and fail."""
        return self._pool.submit(self._verify, stored_hash, normalize_password(password)).result()

    def _verify(self, stored_hash: str | None, candidate: str) -> VerifyResult:
        if not stored_hash:
            with contextlib.suppress(VerificationError):
                self._hasher.verify(self._dummy_hash, candidate + "\x00")
            return VerifyResult(ok=False)
        try:
            self._hasher.verify(stored_hash, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return VerifyResult(ok=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return VerifyResult(ok=True, new_hash=self._hasher.hash(candidate))
        return VerifyResult(ok=True)


def _lower_priority() -> None:
    """Lower this thread's scheduling priority (Linux keeps the policy and the nice value per
    thread; `0` names the calling thread)."""
    thread = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, max(current, HASHING_NICENESS))
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
