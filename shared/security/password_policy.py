"""Password policy after NIST 800-63B: length, not personal, not common; no composition rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from shared.errors import Unprocessable
from shared.security.passwords import MAX_PASSWORD_LENGTH, normalize_password

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


class WeakPassword(Unprocessable):
    code = "weak_password"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    if not COMMON_PASSWORDS_FILE.exists():
        return frozenset()
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def check_password(password: str, *, min_length: int, personal: Iterable[str | None]) -> None:
    """Raise `WeakPassword` with a message a person can act on."""
    candidate = normalize_password(password)
    if len(candidate) < min_length:
        raise WeakPassword(f"Password must be at least {min_length} characters.")
    if len(candidate) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"Password must be at most {MAX_PASSWORD_LENGTH} characters.")
    lowered = candidate.lower()
    for value in personal:
        if not value:
            continue
        lowered_value = value.lower()
        # Each word too: "Lovelace1815!" is as guessable for Ada Lovelace as her full name.
        local = lowered_value.split("@")[0]
        parts = {lowered_value, local, lowered_value.lstrip("+"), *re.split(r"[\s.+_-]+", local)}
        for part in parts:
            if len(part) >= 4 and part in lowered:
                raise WeakPassword("Password must not contain your name, email or mobile number.")
    if lowered in common_passwords():
        raise WeakPassword("Password is too common; choose another.")
