"""Access tokens: asymmetric signatures, what verifies, what is refused, and the key life cycle."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update

from shared.models import SigningKey
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.signing_keys import ALGORITHMS, ensure_signing_keys, jwks_document
from shared.tokens import CONSOLE_AUDIENCE, InvalidToken, TokenExpired


def _mint(runtime: Runtime, **overrides: object) -> str:
    args: dict[str, object] = {"subject": "user-1", "audience": "app-a", "ttl_seconds": 600}
    args.update(overrides)
    token, _ = runtime.tokens.mint(**args)  # type: ignore[arg-type]
    return token


def _claims(runtime: Runtime, **changes: object) -> dict[str, object]:
    now = int(time.time())
    body: dict[str, object] = {
        "iss": runtime.settings.issuer,
        "sub": "user-1",
        "aud": "app-a",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "typ": "access",
    }
    body.update(changes)
    return body


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_signed(header: dict[str, object], claims: dict[str, object], secret: bytes) -> str:
    """An HMAC-signed JWT built by hand: PyJWT refuses to use a public key as a secret."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _current(runtime: Runtime, alg: str) -> SigningKey:
    with runtime.session_factory() as session:
        return session.scalars(
            select(SigningKey).where(
                SigningKey.alg == alg,
                SigningKey.activated_at.is_not(None),
                SigningKey.retired_at.is_(None),
            )
        ).one()


def test_a_minted_token_is_rs256_with_kid_and_verifies_with_its_claims(runtime: Runtime) -> None:
    token, claims = runtime.tokens.mint(
        subject="user-1", audience="app-a", ttl_seconds=600, session_id="s-1"
    )
    verified = runtime.tokens.verify(token, audience="app-a")
    assert verified.subject == "user-1"
    assert verified.session_id == "s-1"
    assert verified.token_id == claims["jti"]
    assert verified.expires_at == claims["exp"] == claims["iat"] + 600
    assert verified.claims["iss"] == runtime.settings.issuer
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": _current(runtime, "RS256").kid, "typ": "JWT"}


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_every_algorithm_signs_with_its_own_key_and_verifies_offline(
    runtime: Runtime, alg: str
) -> None:
    token = _mint(runtime, alg=alg)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg and header["kid"] == _current(runtime, alg).kid
    assert runtime.tokens.verify(token, audience="app-a").subject == "user-1"
    # What a relying party does: the published set alone verifies it.
    with runtime.session_factory() as session:
        document = jwks_document(list(session.scalars(select(SigningKey))))
    key = jwt.PyJWKSet.from_dict(document)[header["kid"]]
    assert jwt.decode(token, key, algorithms=[alg], audience="app-a")["sub"] == "user-1"


def test_private_keys_are_stored_only_encrypted_and_never_published(runtime: Runtime) -> None:
    with runtime.session_factory() as session:
        rows = list(session.scalars(select(SigningKey).where(SigningKey.alg.in_(ALGORITHMS))))
        document = jwks_document(rows)
    for row in rows:
        assert "PRIVATE KEY" not in row.secret_encrypted
        assert "PRIVATE KEY" in runtime.box.decrypt(row.secret_encrypted)
    for key in document["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
        assert key["use"] == "sig" and key["kid"] and key["alg"] in ALGORITHMS


def test_refresh_type_token_verifies_only_as_refresh(runtime: Runtime) -> None:
    token = _mint(runtime, token_type="refresh")
    assert runtime.tokens.verify(token, audience="app-a", token_type="refresh").subject == "user-1"
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(token, audience="app-a")


def test_wrong_audience_is_invalid(runtime: Runtime) -> None:
    token = _mint(runtime, audience="app-a")
    with pytest.raises(InvalidToken) as caught:
        runtime.tokens.verify(token, audience=CONSOLE_AUDIENCE)
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_token"


def test_expired_token_is_reported_as_expired(runtime: Runtime) -> None:
    token = _mint(runtime, ttl_seconds=-5)
    with pytest.raises(TokenExpired) as caught:
        runtime.tokens.verify(token, audience="app-a")
    assert caught.value.code == "token_expired"


def test_alg_none_is_refused(runtime: Runtime) -> None:
    kid = jwt.get_unverified_header(_mint(runtime))["kid"]
    claims = jwt.decode(_mint(runtime), options={"verify_signature": False})
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": kid})
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(unsigned, audience="app-a")


def test_hs256_signed_with_the_public_key_is_refused(runtime: Runtime) -> None:
    # The classic confusion: the RSA key's public half (which anyone has) as an HMAC secret.
    key = _current(runtime, "RS256")
    public = jwt.PyJWK(key.public_jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (public, json.dumps(key.public_jwk).encode()):
        forged = _hand_signed({"alg": "HS256", "kid": key.kid}, _claims(runtime), secret)
        with pytest.raises(InvalidToken):
            runtime.tokens.verify(forged, audience="app-a")


def test_a_header_naming_another_asymmetric_algorithm_is_refused(runtime: Runtime) -> None:
    token = _mint(runtime, alg="ES256")
    _, payload, signature = token.split(".")
    relabelled = {**jwt.get_unverified_header(token), "alg": "ES384"}
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(
            f"{_b64(json.dumps(relabelled).encode())}.{payload}.{signature}", audience="app-a"
        )


def test_tampered_payload_is_refused(runtime: Runtime) -> None:
    token = _mint(runtime, subject="user-1")
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = "admin"
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(
            f"{header}.{_b64(json.dumps(claims).encode())}.{signature}", audience="app-a"
        )


def test_a_token_signed_by_a_foreign_key_under_our_kid_is_refused(runtime: Runtime) -> None:
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = _current(runtime, "RS256").kid
    forged = jwt.encode(_claims(runtime), foreign, algorithm="RS256", headers={"kid": kid})
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(forged, audience="app-a")


@pytest.mark.parametrize("missing", ["jti", "typ", "exp", "iss", "iat", "sub"])
def test_token_missing_a_required_claim_is_refused(runtime: Runtime, missing: str) -> None:
    claims = _claims(runtime)
    assert runtime.tokens.verify(runtime.tokens.sign(claims), audience="app-a").token_id == "j1"
    del claims[missing]
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(runtime.tokens.sign(claims), audience="app-a")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
def test_garbage_is_invalid_not_an_error(runtime: Runtime, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(garbage, audience="app-a")


def test_unknown_kid_is_refused(runtime: Runtime) -> None:
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(runtime), foreign, algorithm="RS256", headers={"kid": "nope"})
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(token, audience="app-a")


@pytest.mark.usefixtures("restore_signing_keys")
def test_a_legacy_hs256_secret_verifies_what_it_signed_until_its_end(runtime: Runtime) -> None:
    # A platform secret of before the upgrade, as the migration leaves it: retired, verifying.
    secret = "a-platform-secret-of-the-old-scheme-" + "x" * 16
    now = utcnow()
    with runtime.session_factory() as session:
        session.add(
            SigningKey(
                kid="legacy0000000001",
                alg="HS256",
                secret_encrypted=runtime.box.encrypt(secret),
                created_at=now - timedelta(hours=1),
                activated_at=now - timedelta(hours=1),
                retired_at=now,
                verify_until=now + timedelta(hours=1),
            )
        )
        session.commit()
    runtime.tokens.reset()
    old = jwt.encode(
        _claims(runtime), secret, algorithm="HS256", headers={"kid": "legacy0000000001"}
    )
    assert runtime.tokens.verify(old, audience="app-a").subject == "user-1"
    assert jwt.get_unverified_header(_mint(runtime))["alg"] == "RS256"  # it signs nothing new
    with runtime.session_factory() as session:
        session.execute(
            update(SigningKey)
            .where(SigningKey.kid == "legacy0000000001")
            .values(verify_until=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    runtime.tokens.reset()
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(old, audience="app-a")


@pytest.mark.usefixtures("restore_signing_keys")
def test_ensure_signing_keys_is_idempotent_and_covers_every_algorithm(runtime: Runtime) -> None:
    with runtime.session_factory() as session:
        before = set(session.scalars(select(SigningKey.kid)))
        assert ensure_signing_keys(session, runtime.box) == []
    with runtime.session_factory() as session:
        rows = list(session.scalars(select(SigningKey)))
    assert {row.kid for row in rows} == before
    for alg in ALGORITHMS:
        mine = [r for r in rows if r.alg == alg and r.retired_at is None]
        assert sorted(r.activated_at is None for r in mine) == [False, True]  # current, next
