"""The API key check: near misses fail, and the hash comparison is constant-time."""

from __future__ import annotations

import hmac

import pytest

from shared.security.api_keys import generate_api_key, hash_api_key
from tests.factories import make_app_with_key


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Every hmac.compare_digest call, passed on to the real one."""
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return seen


def _session(auth_client, key: str):
    return auth_client.get("/auth/session", headers={"X-Auth-Service-Key": key})


def test_a_wrong_secret_behind_a_real_prefix_is_compared_in_constant_time(
    admin, auth_client, comparisons
):
    _, key = make_app_with_key(admin)
    near_miss = key[:-1] + ("A" if key[-1] != "A" else "B")

    response = _session(auth_client, near_miss)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    stored, presented = hash_api_key(key).encode(), hash_api_key(near_miss).encode()
    assert {stored, presented} in [set(pair) for pair in comparisons]


def test_a_well_formed_key_with_an_unknown_prefix_fails_alike(admin, auth_client):
    make_app_with_key(admin)
    stranger = generate_api_key().plaintext
    response = _session(auth_client, stranger)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_the_right_key_still_passes_the_key_check(admin, auth_client, comparisons):
    _, key = make_app_with_key(admin)
    # No bearer token: past the key check, the session endpoint asks for one.
    response = _session(auth_client, key)
    assert response.json()["error"]["code"] != "invalid_api_key"
    assert comparisons, "the key hash was not compared with hmac.compare_digest"
