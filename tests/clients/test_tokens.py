"""Offline access-token checks against the real service's JWKS: cached by its headers, one
fetch for an unknown key and no more than the floor allows, the key's algorithm only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from identity_client import InvalidToken, SessionRevoked, TokenExpired, TokenPair, TokenVerifier

from tests.auth.support import PASSWORD


def _counting(base_url: str) -> tuple[httpx.Client, list[str]]:
    fetched: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: fetched.append(str(r.url))]})
    return http, fetched


def _login(identity, app) -> TokenPair:
    pair = identity.login(app.member["email"], PASSWORD)
    assert isinstance(pair, TokenPair)
    return pair


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_verifies_offline_with_its_claims(identity, app):
    pair = _login(identity, app)
    verified = identity.verify(pair.access_token)
    assert verified.subject == app.member["auth_user_id"]
    assert verified.session_id == pair.session.session_id and verified.audience == app.id


def test_the_key_set_is_fetched_once_and_kept_as_its_cache_header_says(base_url, identity, app):
    http, fetched = _counting(base_url)
    verifier = TokenVerifier(f"{base_url}/.well-known/jwks.json", audience=app.id, http=http)
    for _ in range(5):
        verifier.verify(_login(identity, app).access_token)
    assert len(fetched) == 1
    assert verifier.cache.fresh_until - verifier.cache.fetched_at == pytest.approx(300, abs=1)


def test_rotation_is_picked_up_and_a_flood_of_unknown_kids_costs_one_fetch(
    base_url, identity, app, admin_headers, restore_signing_keys
):
    http, fetched = _counting(base_url)
    verifier = TokenVerifier(
        f"{base_url}/.well-known/jwks.json", audience=app.id, http=http, min_refresh_seconds=2
    )
    before = _login(identity, app).access_token
    verifier.verify(before)
    rotate = lambda: httpx.post(  # noqa: E731
        f"{base_url}/auth/admin/signing-keys/rotate", json={}, headers=admin_headers
    ).raise_for_status()
    rotate()
    time.sleep(1.1)  # every replica signs with the new key within a second
    after_one = _login(identity, app).access_token
    verifier.verify(after_one)  # the next key was published before: no fetch needed
    assert len(fetched) == 1
    rotate()
    time.sleep(2.1)
    after_two = _login(identity, app).access_token
    assert verifier.verify(after_two).subject == app.member["auth_user_id"]
    assert len(fetched) == 2  # a kid it could not have seen: one fetch
    assert verifier.verify(before).subject == app.member["auth_user_id"]  # still verifying

    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(after_two, options={"verify_signature": False})
    for n in range(50):
        forged = jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": f"made-up-{n}"})
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
    assert len(fetched) <= 3  # the floor: at most one more fetch for fifty unknown kids


def test_the_algorithm_is_the_keys_and_only_access_tokens_pass(base_url, identity, app):
    pair = _login(identity, app)
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(pair.access_token)
    jwks = httpx.get(f"{base_url}/.well-known/jwks.json").json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    signing_input = f"{_b64(json.dumps({**header, 'alg': 'HS256'}).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(json.dumps(jwk).encode(), signing_input.encode(), hashlib.sha256).digest()
    unsigned = f"{_b64(json.dumps({**header, 'alg': 'none'}).encode())}.{_b64(json.dumps(claims).encode())}."
    for forged in (f"{signing_input}.{_b64(mac)}", unsigned, "not.a.token", ""):
        with pytest.raises(InvalidToken):
            identity.verify(forged)
    other_audience = TokenVerifier(f"{base_url}/.well-known/jwks.json", audience="someone-else")
    with pytest.raises(InvalidToken):
        other_audience.verify(pair.access_token)


def test_leeway_is_configurable(base_url, identity, app, service_runtime):
    token, _ = service_runtime.tokens.mint(
        subject=app.member["auth_user_id"], audience=app.id, ttl_seconds=-5, session_id="s"
    )
    strict = TokenVerifier(f"{base_url}/.well-known/jwks.json", audience=app.id, leeway=0)
    with pytest.raises(TokenExpired):
        strict.verify(token)
    lenient = TokenVerifier(f"{base_url}/.well-known/jwks.json", audience=app.id, leeway=60)
    assert lenient.verify(token).subject == app.member["auth_user_id"]


def test_check_revocation_asks_the_service(identity, app):
    pair = _login(identity, app)
    identity.logout(refresh_token=pair.refresh_token)
    assert identity.verify(pair.access_token).subject  # offline cannot know
    with pytest.raises(SessionRevoked):
        identity.verify(pair.access_token, check_revocation=True)
