"""Access tokens: what verifies, what is refused, and secret rotation with overlap."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import delete, select, update

from shared.models import SigningKey
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.tokens import (
    CONSOLE_AUDIENCE,
    InvalidToken,
    TokenExpired,
    ensure_signing_key,
    rotate_signing_key,
)


def _mint(runtime: Runtime, **overrides: object) -> str:
    args: dict[str, object] = {"subject": "user-1", "audience": "app-a", "ttl_seconds": 600}
    args.update(overrides)
    token, _ = runtime.tokens.mint(**args)  # type: ignore[arg-type]
    return token


def _forge(runtime: Runtime, secret: str, **claims: object) -> str:
    """A token signed by hand, with the current kid, for cases mint() never produces."""
    header = jwt.get_unverified_header(_mint(runtime))
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
    body.update(claims)
    return jwt.encode(body, secret, algorithm="HS256", headers={"kid": header["kid"]})


@pytest.fixture
def restore_signing_keys(runtime: Runtime) -> Iterator[None]:
    """Rotation changes rows that outlive the test: put the original keys back."""
    with runtime.session_factory() as session:
        original = {
            k.kid: (k.retired_at, k.verify_until) for k in session.scalars(select(SigningKey))
        }
    yield
    with runtime.session_factory() as session:
        session.execute(delete(SigningKey).where(SigningKey.kid.not_in(original)))
        for kid, (retired_at, verify_until) in original.items():
            session.execute(
                update(SigningKey)
                .where(SigningKey.kid == kid)
                .values(retired_at=retired_at, verify_until=verify_until)
            )
        session.commit()
    runtime.tokens.reset()


def test_minted_token_verifies_with_its_claims(runtime: Runtime) -> None:
    token, claims = runtime.tokens.mint(
        subject="user-1", audience="app-a", ttl_seconds=600, session_id="s-1"
    )
    verified = runtime.tokens.verify(token, audience="app-a")
    assert verified.subject == "user-1"
    assert verified.session_id == "s-1"
    assert verified.token_id == claims["jti"]
    assert verified.expires_at == claims["exp"] == claims["iat"] + 600
    assert verified.claims["iss"] == runtime.settings.issuer
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


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


def test_tampered_payload_is_refused(runtime: Runtime) -> None:
    token = _mint(runtime, subject="user-1")
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = "admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(f"{header}.{forged_payload}.{signature}", audience="app-a")


def test_token_signed_with_another_secret_is_refused(runtime: Runtime) -> None:
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(
            _forge(runtime, "a-secret-we-never-had-" + "x" * 32), audience="app-a"
        )


@pytest.mark.parametrize("missing", ["jti", "typ", "exp", "iss"])
def test_token_missing_a_required_claim_is_refused(runtime: Runtime, missing: str) -> None:
    with runtime.session_factory() as session:
        row = session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))).one()
    secret = runtime.box.decrypt(row.secret_encrypted)
    assert runtime.tokens.verify(_forge(runtime, secret), audience="app-a").token_id == "j1"
    token = _forge(runtime, secret)
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience="app-a")
    del claims[missing]
    stripped = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": row.kid})
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(stripped, audience="app-a")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
def test_garbage_is_invalid_not_an_error(runtime: Runtime, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(garbage, audience="app-a")


def test_unknown_kid_is_refused(runtime: Runtime) -> None:
    token = jwt.encode(
        {"sub": "user-1", "aud": "app-a"}, "s" * 32, algorithm="HS256", headers={"kid": "nope"}
    )
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(token, audience="app-a")


@pytest.mark.usefixtures("restore_signing_keys")
def test_rotation_keeps_old_tokens_valid_during_the_overlap(runtime: Runtime) -> None:
    old_token = _mint(runtime)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    with runtime.session_factory() as session:
        new_kid = rotate_signing_key(session, runtime.box, overlap=timedelta(hours=1))
        session.commit()
    runtime.tokens.reset()  # what the Topic.SIGNING_KEYS invalidation does on every replica

    new_token = _mint(runtime)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid != old_kid
    assert runtime.tokens.verify(new_token, audience="app-a").subject == "user-1"
    assert runtime.tokens.verify(old_token, audience="app-a").subject == "user-1"

    # The overlap ends: the old secret no longer verifies, the new one still does.
    with runtime.session_factory() as session:
        session.execute(
            update(SigningKey)
            .where(SigningKey.kid == old_kid)
            .values(verify_until=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    runtime.tokens.reset()
    with pytest.raises(InvalidToken):
        runtime.tokens.verify(old_token, audience="app-a")
    assert runtime.tokens.verify(new_token, audience="app-a").subject == "user-1"


@pytest.mark.usefixtures("restore_signing_keys")
def test_ensure_signing_key_is_idempotent(runtime: Runtime) -> None:
    with runtime.session_factory() as session:
        before = set(session.scalars(select(SigningKey.kid)))
    assert before
    for _ in range(2):
        with runtime.session_factory() as session:
            ensure_signing_key(session, runtime.box)
    with runtime.session_factory() as session:
        assert set(session.scalars(select(SigningKey.kid))) == before
