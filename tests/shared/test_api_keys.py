"""API auth keys: shape, entropy, uniqueness and how they are stored."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from shared.security.api_keys import (
    generate_api_key,
    hash_api_key,
    hashes_match,
    parse_prefix,
)


def test_key_has_the_documented_shape() -> None:
    key = generate_api_key()
    assert re.fullmatch(r"ask_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", key.plaintext)
    assert key.plaintext.startswith(f"ask_{key.prefix}_")


def test_secret_part_carries_at_least_256_bits() -> None:
    secret = generate_api_key().plaintext.split("_", 2)[2]
    raw = base64.urlsafe_b64decode(secret + "=")
    assert len(raw) * 8 >= 256


def test_keys_and_prefixes_are_unique() -> None:
    keys = [generate_api_key() for _ in range(500)]
    assert len({k.plaintext for k in keys}) == 500
    assert len({k.prefix for k in keys}) == 500
    assert len({k.key_hash for k in keys}) == 500


def test_only_the_sha256_hash_is_kept() -> None:
    key = generate_api_key()
    assert key.key_hash == hashlib.sha256(key.plaintext.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", key.key_hash)
    assert key.key_hash == hash_api_key(key.plaintext)
    assert key.plaintext not in key.key_hash


def test_parse_prefix_of_a_generated_key() -> None:
    key = generate_api_key()
    assert parse_prefix(key.plaintext) == key.prefix


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "ask_",
        "ask_abcd1234",
        "ask_abcd1234_",
        "ask_abcd123_" + "a" * 43,  # prefix too short
        "ask_abcd12345_" + "a" * 43,  # prefix too long
        "ask_abcd1234_" + "a" * 42,  # secret too short
        "ask_abcd1234_" + "a" * 44,  # secret too long
        "ask_abcd-234_" + "a" * 43,  # bad prefix character
        "ask_abcd1234_" + "a" * 42 + "=",  # padding is not urlsafe-b64 without '='
        "ASK_abcd1234_" + "a" * 43,
        "Bearer ask_abcd1234_" + "a" * 43,
        "ask_abcd1234_" + "a" * 43 + "\n",
        " ask_abcd1234_" + "a" * 43,
    ],
)
def test_parse_prefix_rejects_malformed_keys(candidate: str) -> None:
    assert parse_prefix(candidate) is None


def test_hashes_match_compares_exactly() -> None:
    key = generate_api_key()
    assert hashes_match(key.key_hash, hash_api_key(key.plaintext))
    assert not hashes_match(key.key_hash, hash_api_key(key.plaintext + "x"))
    assert not hashes_match(key.key_hash, key.key_hash[:-1])
    assert not hashes_match(key.key_hash, "")
    assert hashes_match("", "")
