"""Signing keys: the published set, rotation by an administrator and on schedule, every replica."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import delete, select, update

from auth import cli
from auth.app import prepare
from auth.keys.schedule import run_scheduled_rotation
from shared.audit import EventType
from shared.invalidation import Topic
from shared.models import SigningKey
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.settings import Settings
from shared.signing_keys import ALGORITHMS
from tests.auth.support import audit_events, error_of

pytestmark = pytest.mark.usefixtures("restore_signing_keys")


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
    response = auth_client.post("/auth/admin/signing-keys/rotate", json=body, headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def _states(runtime) -> dict[str, list[tuple[str, str]]]:
    with runtime.session_factory() as db:
        rows = db.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
    now = utcnow()
    states: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        if row.verify_until is not None and row.verify_until <= now:
            continue
        state = "next" if row.activated_at is None else "current" if not row.retired_at else "prev"
        states.setdefault(row.alg, []).append((row.kid, state))
    return states


def test_the_jwks_publishes_next_and_current_keys_of_every_algorithm(auth_client, runtime):
    response = auth_client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=300"
    published = {key["kid"]: key for key in response.json()["keys"]}
    for alg, keys in _states(runtime).items():
        if alg == "HS256":
            continue
        assert sorted(state for _, state in keys) == ["current", "next"]
        assert all(kid in published and published[kid]["alg"] == alg for kid, _ in keys)
    assert all(not {"d", "p", "q"} & set(key) for key in published.values())


def test_rotation_signs_with_the_key_published_before_and_keeps_old_tokens_valid(
    runtime, auth_client, admin_headers, caller, member
):
    waiting = {alg: kid for alg, keys in _states(runtime).items() for kid, s in keys if s == "next"}
    before = caller.signed_in(member["email"])
    rotated = _rotate(auth_client, admin_headers)
    assert sorted(rotated["signing_kids"]) == sorted(waiting.values())
    after = caller.signed_in(member["email"])
    assert _kid(after["access_token"]) == waiting["RS256"] != _kid(before["access_token"])
    assert caller.session(before["access_token"]).status_code == 200
    assert caller.session(after["access_token"]).status_code == 200
    for alg in ALGORITHMS:
        assert sorted(s for _, s in _states(runtime)[alg]) == ["current", "next", "prev"]
    published = {k["kid"] for k in auth_client.get("/.well-known/jwks.json").json()["keys"]}
    assert _kid(before["access_token"]) in published  # until its last token has expired
    (event,) = audit_events(runtime, EventType.SIGNING_KEYS_ROTATED)
    assert event.actor_type == "admin" and sorted(event.details["kids"]) == sorted(waiting.values())


def test_with_no_overlap_old_tokens_stop_verifying(auth_client, admin_headers, caller, member):
    before = caller.signed_in(member["email"])
    _rotate(auth_client, admin_headers, overlap_seconds=0)
    assert error_of(caller.session(before["access_token"])) == (401, "invalid_token")
    published = {k["kid"] for k in auth_client.get("/.well-known/jwks.json").json()["keys"]}
    assert _kid(before["access_token"]) not in published


def test_another_replica_signs_with_the_new_key_within_a_second(
    auth_client, admin_headers, replica
):
    replica.tokens.mint(subject="warm-up", audience="x", ttl_seconds=60)  # caches the old key
    rotated = _rotate(auth_client, admin_headers)
    deadline = time.monotonic() + 1.0
    while True:
        token, _ = replica.tokens.mint(subject="u", audience="x", ttl_seconds=60)
        if _kid(token) in rotated["signing_kids"]:
            break
        assert time.monotonic() < deadline, "the replica kept signing with the old key"
        time.sleep(0.02)


def test_only_administrators_rotate_and_bad_input_changes_nothing(
    auth_client, caller, member, admin_headers, runtime
):
    before = _states(runtime)
    tokens = caller.signed_in(member["email"])
    response = auth_client.post(
        "/auth/admin/signing-keys/rotate",
        json={},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert error_of(response) == (401, "invalid_token")
    for body in ({"overlap_seconds": -1}, {"overlap_seconds": "soon"}, {"secret": "x" * 40}):
        bad = auth_client.post("/auth/admin/signing-keys/rotate", json=body, headers=admin_headers)
        assert error_of(bad) == (422, "validation_error")
    assert _states(runtime) == before


def test_the_key_list_names_each_state(auth_client, admin_headers, runtime):
    listed = auth_client.get("/auth/admin/signing-keys", headers=admin_headers).json()
    for alg in ALGORITHMS:
        assert sorted(k["state"] for k in listed if k["alg"] == alg) == ["current", "next"]


def test_first_keys_are_generated_at_start_when_none_exist(runtime):
    with runtime.session_factory() as db:
        saved = [
            {c.key: getattr(k, c.key) for c in SigningKey.__table__.columns}
            for k in db.scalars(select(SigningKey))
        ]
        db.execute(delete(SigningKey))
        db.commit()
    try:
        prepare(runtime)
        for alg in ALGORITHMS:
            assert sorted(s for _, s in _states(runtime)[alg]) == ["current", "next"]
    finally:
        with runtime.session_factory() as db:
            db.execute(delete(SigningKey))
            db.add_all(SigningKey(**row) for row in saved)
            db.commit()
        runtime.tokens.reset()


def _age_current_keys(runtime, days: int) -> None:
    with runtime.session_factory() as db:
        db.execute(
            update(SigningKey)
            .where(SigningKey.activated_at.is_not(None), SigningKey.retired_at.is_(None))
            .values(activated_at=utcnow() - timedelta(days=days))
        )
        db.commit()


def test_the_schedule_rotates_once_the_period_has_passed(runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "signing_key_rotation_days", 30)
    assert run_scheduled_rotation(runtime) is None  # young keys
    _age_current_keys(runtime, 31)
    kids = run_scheduled_rotation(runtime)
    assert kids is not None and len(kids) == len(ALGORITHMS)
    assert run_scheduled_rotation(runtime) is None  # the new keys are young
    (event,) = audit_events(runtime, EventType.SIGNING_KEYS_ROTATED)
    assert event.actor_type == "system" and event.details["period_days"] == 30
    monkeypatch.setattr(runtime.settings, "signing_key_rotation_days", 0)
    _age_current_keys(runtime, 3650)
    assert run_scheduled_rotation(runtime) is None  # 0: only by hand


def test_replicas_finding_the_rotation_due_at_once_rotate_once(runtime, settings, monkeypatch):
    monkeypatch.setattr(runtime.settings, "signing_key_rotation_days", 30)
    _age_current_keys(runtime, 31)
    others = [Runtime(settings) for _ in range(3)]
    for other in others:
        other.settings.signing_key_rotation_days = 30
    results: list[list[str] | None] = []
    barrier = threading.Barrier(len(others))

    def scheduled(other: Runtime) -> None:
        barrier.wait()
        results.append(run_scheduled_rotation(other))

    threads = [threading.Thread(target=scheduled, args=(o,)) for o in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for other in others:
        other.close()
    assert sum(r is not None for r in results) == 1
    for alg in ALGORITHMS:
        assert sorted(s for _, s in _states(runtime)[alg]) == ["current", "next", "prev"]


def test_the_cli_rotates_and_lists_the_keys(runtime, capsys):
    waiting = {kid for keys in _states(runtime).values() for kid, s in keys if s == "next"}
    kids = cli.rotate_keys(runtime, None)
    assert set(kids) <= waiting and len(kids) == len(ALGORITHMS)
    (event,) = audit_events(runtime, EventType.SIGNING_KEYS_ROTATED)
    assert (event.actor_type, event.actor_name) == ("system", "auth.cli")
    listing = cli.list_keys(runtime)
    assert all(kid in listing for kid in kids) and listing.count("previous") == len(ALGORITHMS)
    with pytest.raises(SystemExit) as refused:
        cli.main(["rotate-signing-keys", "--overlap-seconds", "-5"])
    assert refused.value.code == 2
    assert "--overlap-seconds" in capsys.readouterr().err
