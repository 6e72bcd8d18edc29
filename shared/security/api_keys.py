"""API auth keys: `ask_<prefix>_<secret>`; 256 random bits, stored only as SHA-256.

A SHA-256 (not argon2) is right here: the key is 256 bits of randomness, so
there is nothing to brute-force, and the check runs on every app request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

KEY_PATTERN = re.compile(r"^ask_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})$")
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class NewApiKey:
    plaintext: str
    prefix: str
    key_hash: str


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_api_key() -> NewApiKey:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    plaintext = f"ask_{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(plaintext=plaintext, prefix=prefix, key_hash=hash_api_key(plaintext))


def parse_prefix(plaintext: str) -> str | None:
    """The visible prefix of a well-formed key, or None for anything malformed."""
    match = KEY_PATTERN.fullmatch(plaintext)  # `$` alone would allow a trailing newline
    return match.group(1) if match else None


def hashes_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
