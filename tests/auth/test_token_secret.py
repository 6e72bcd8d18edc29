"""The platform token secret: encrypted at rest, rotated with an overlap, felt by every replica."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
from sqlalchemy import delete, select, update

from auth.app import prepare
from shared.audit import EventType
from shared.invalidation import Topic
from shared.models import SigningKey
from shared.runtime import Runtime
from shared.settings import Settings
from tests.auth.support import audit_events, error_of


@pytest.fixture
def restore_signing_keys(runtime: Runtime) -> Iterator[None]:
    """Rotation changes rows that outlive the test: put the original keys back."""
    with runtime.session_factory() as db:
        original = {k.kid: (k.retired_at, k.verify_until) for k in db.scalars(select(SigningKey))}
    yield
    with runtime.session_factory() as db:
        db.execute(delete(SigningKey).where(SigningKey.kid.not_in(original)))
        for kid, (retired_at, verify_until) in original.items():
            db.execute(
                update(SigningKey)
                .where(SigningKey.kid == kid)
                .values(retired_at=retired_at, verify_until=verify_until)
            )
        db.commit()
    runtime.tokens.reset()


@pytest.fixture
def replica(settings: Settings) -> Iterator[Runtime]:
    other = Runtime(settings)
    other.start()
    heard: list[int] = []
    other.bus.subscribe(Topic.PLATFORM, lambda: heard.append(1))
    deadline = time.monotonic() + 10
    # The first call may be the listener's drop-everything on subscribing; a second is a message.
    while len(heard) < 2:
        assert time.monotonic() < deadline, "replica never subscribed"
        other.redis.publish(other.keys.invalidation_channel, Topic.PLATFORM.value)
        time.sleep(0.02)
    yield other
    other.stop()
    other.close()


def _rotate(auth_client, admin_headers, **body):
    response = auth_client.post("/auth/admin/token-secret/rotate", json=body, headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_the_secret_is_stored_encrypted(runtime, restore_signing_keys, auth_client, admin_headers):
    _rotate(auth_client, admin_headers, secret="s" * 40)
    with runtime.session_factory() as db:
        newest = db.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())).first()
    assert "s" * 40 not in newest.secret_encrypted
    assert runtime.box.decrypt(newest.secret_encrypted) == "s" * 40


def test_rotation_keeps_old_tokens_valid_for_the_overlap(
    runtime, restore_signing_keys, auth_client, admin_headers, caller, member
):
    before = caller.signed_in(member["email"])
    rotated = _rotate(auth_client, admin_headers)
    after = caller.signed_in(member["email"])
    assert _kid(after["access_token"]) == rotated["kid"] != _kid(before["access_token"])
    assert caller.session(before["access_token"]).status_code == 200
    assert audit_events(runtime, EventType.ADMIN_SECRET_ROTATED)[0].details["kid"] == rotated["kid"]


def test_with_no_overlap_old_tokens_stop_verifying(
    restore_signing_keys, auth_client, admin_headers, caller, member
):
    before = caller.signed_in(member["email"])
    _rotate(auth_client, admin_headers, overlap_seconds=0)
    assert error_of(caller.session(before["access_token"])) == (401, "invalid_token")


def test_another_replica_signs_with_the_new_secret_within_a_second(
    restore_signing_keys, auth_client, admin_headers, replica
):
    replica.tokens.mint(subject="warm-up", audience="x", ttl_seconds=60)  # caches the old key
    rotated = _rotate(auth_client, admin_headers)
    deadline = time.monotonic() + 1.0
    while True:
        token, _ = replica.tokens.mint(subject="u", audience="x", ttl_seconds=60)
        if _kid(token) == rotated["kid"]:
            break
        assert time.monotonic() < deadline, "the replica kept signing with the old secret"
        time.sleep(0.02)


def test_only_administrators_rotate(
    auth_client, caller, member, restore_signing_keys, admin_headers, runtime
):
    tokens = caller.signed_in(member["email"])
    response = auth_client.post(
        "/auth/admin/token-secret/rotate",
        json={},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert error_of(response) == (401, "invalid_token")
    with runtime.session_factory() as db:
        keys_before = db.scalars(select(SigningKey.kid)).all()
    short = auth_client.post(
        "/auth/admin/token-secret/rotate", json={"secret": "short"}, headers=admin_headers
    )
    assert error_of(short) == (422, "validation_error")
    with runtime.session_factory() as db:
        assert db.scalars(select(SigningKey.kid)).all() == keys_before


def test_a_first_secret_is_generated_at_start_when_none_exists(runtime, restore_signing_keys):
    with runtime.session_factory() as db:
        saved = [(k.kid, k.secret_encrypted, k.created_at) for k in db.scalars(select(SigningKey))]
        db.execute(delete(SigningKey))
        db.commit()
    try:
        prepare(runtime)
        with runtime.session_factory() as db:
            (generated,) = db.scalars(select(SigningKey)).all()
        assert len(runtime.box.decrypt(generated.secret_encrypted)) >= 43  # 256+ bits
    finally:
        with runtime.session_factory() as db:
            db.execute(delete(SigningKey))
            for kid, secret, created in saved:
                db.add(SigningKey(kid=kid, secret_encrypted=secret, created_at=created))
            db.commit()
        runtime.tokens.reset()
