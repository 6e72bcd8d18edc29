"""Argon2id password hashing with a dummy hash so unknown users cost the same as wrong passwords."""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD_LENGTH = 128


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on two keyboards hashes the same (NIST 800-63B)."""
    return unicodedata.normalize("NFKC", password)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used outdated parameters


class PasswordHashing:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy_hash = self._hasher.hash("dummy password for timing equalisation")

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalize_password(password))

    def verify(self, stored_hash: str | None, password: str) -> VerifyResult:
        """Check a password; with no stored hash, burn the same time and fail."""
        candidate = normalize_password(password)
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
