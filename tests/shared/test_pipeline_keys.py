"""The pipeline's key cache: admin changes bite on the next request, here and on other replicas."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from shared.audit import EventType
from shared.invalidation import Topic
from shared.models import Application
from shared.pipeline import AppPipeline
from shared.runtime import Runtime
from shared.security.api_keys import hash_api_key, parse_prefix
from shared.settings import Settings
from tests.factories import make_application
from tests.loops import in_new_loop
from tests.shared.test_pipeline_probe import assert_denied, call, denials, probe_app


def create_key(admin, application_id: str) -> dict:
    response = admin.post(f"/directory/applications/{application_id}/keys")
    assert response.status_code == 201, response.text
    return response.json()


def wait_until_listening(replica: Runtime) -> None:
    """Block until the replica's invalidation listener is past its start-up cache drop."""
    heard: list[int] = []
    replica.bus.subscribe(Topic.PLATFORM, lambda: heard.append(1))
    deadline = time.monotonic() + 10
    # The first call may be the drop-everything right after subscribing;
    # a second one can only be a message the listener received.
    while len(heard) < 2:
        assert time.monotonic() < deadline, "replica never subscribed"
        replica.redis.publish(replica.keys.invalidation_channel, Topic.PLATFORM.value)
        time.sleep(0.02)


@pytest.fixture
def replica(settings: Settings) -> Iterator[Runtime]:
    """A second process of an app-facing service, on the same database and Redis."""
    other = Runtime(settings)
    other.start()
    try:
        wait_until_listening(other)
        yield other
    finally:
        other.stop()
        other.close()


def test_deleted_key_fails_on_the_very_next_request(admin, runtime):
    app = make_application(admin)
    key = create_key(admin, app["id"])
    probe = probe_app(runtime)
    assert call(probe, key["api_key"]).status_code == 200  # now cached
    assert admin.delete(f"/directory/keys/{key['key_id']}").status_code == 204
    assert_denied(call(probe, key["api_key"]), 401, "invalid_api_key")


def test_other_keys_of_the_app_keep_working_after_one_is_deleted(admin, runtime):
    app = make_application(admin)
    doomed, kept = create_key(admin, app["id"]), create_key(admin, app["id"])
    probe = probe_app(runtime)
    assert admin.delete(f"/directory/keys/{doomed['key_id']}").status_code == 204
    assert call(probe, kept["api_key"]).status_code == 200
    assert_denied(call(probe, doomed["api_key"]), 401, "invalid_api_key")


def test_deleted_key_fails_on_another_replica_within_a_second(admin, runtime, replica):
    app = make_application(admin)
    key = create_key(admin, app["id"])
    remote = probe_app(replica)
    assert call(remote, key["api_key"]).status_code == 200
    # Prove the replica answers from its cache: a change nobody announces goes unseen.
    with replica.session_factory() as session:
        session.execute(
            update(Application)
            .where(Application.id == uuid.UUID(app["id"]))
            .values(status="disabled")
        )
        session.commit()
    assert call(remote, key["api_key"]).status_code == 200

    assert admin.delete(f"/directory/keys/{key['key_id']}").status_code == 204
    deadline = time.monotonic() + 1.0
    while call(remote, key["api_key"]).status_code == 200:
        assert time.monotonic() < deadline, "the replica kept accepting a deleted key"
        time.sleep(0.02)
    assert_denied(call(remote, key["api_key"]), 401, "invalid_api_key")


def test_disabled_application_is_403_until_enabled_again(admin, runtime):
    app = make_application(admin, name="crm")
    key = create_key(admin, app["id"])["api_key"]
    probe = probe_app(runtime)
    assert call(probe, key).status_code == 200
    path = f"/directory/applications/{app['id']}"

    assert admin.patch(path, json={"status": "disabled"}).status_code == 200
    assert_denied(call(probe, key), 403, "app_disabled")
    [denied] = denials(runtime)
    assert denied.type == EventType.API_DENIED_APP_DISABLED
    assert (denied.application_id, denied.actor_name) == (app["id"], "crm")
    assert (denied.effective_ip, denied.remote_addr) == ("127.0.0.1", "127.0.0.1")

    assert admin.patch(path, json={"status": "active"}).status_code == 200
    assert call(probe, key).json()["app"] == "crm"


def test_a_narrowed_allow_list_bites_on_the_next_request(admin, runtime):
    app = make_application(admin, allowed_ips=["127.0.0.0/8"])
    key = create_key(admin, app["id"])["api_key"]
    probe = probe_app(runtime)
    assert call(probe, key).status_code == 200
    patched = admin.patch(
        f"/directory/applications/{app['id']}", json={"allowed_ips": ["192.0.2.0/24"]}
    )
    assert patched.status_code == 200
    assert_denied(call(probe, key), 403, "ip_not_allowed")


def test_deleting_the_application_kills_its_keys(admin, runtime):
    app = make_application(admin)
    key = create_key(admin, app["id"])["api_key"]
    probe = probe_app(runtime)
    assert call(probe, key).status_code == 200
    forced = admin.delete(f"/directory/applications/{app['id']}", params={"force": "true"})
    assert forced.status_code == 204
    assert_denied(call(probe, key), 401, "invalid_api_key")


def test_a_lookup_joining_a_read_begun_before_a_deletion_does_not_cache_the_old_answer(
    admin, runtime, monkeypatch
):
    app = make_application(admin)
    key = create_key(admin, app["id"])
    pipeline = AppPipeline(runtime.session_factory, runtime)
    real_load, entered, release = pipeline._load, threading.Event(), threading.Event()

    def slow_first_load(key_hash, prefix):
        if not entered.is_set():
            entered.set()
            release.wait(5)  # read the key as it was, answer after the deletion
            return snapshot_before
        return real_load(key_hash, prefix)

    snapshot_before = real_load(hash_api_key(key["api_key"]), parse_prefix(key["api_key"]))
    monkeypatch.setattr(pipeline, "_load", slow_first_load)

    async def scenario():
        first = asyncio.ensure_future(pipeline.lookup(key["api_key"]))
        await asyncio.to_thread(entered.wait, 5)
        assert admin.delete(f"/directory/keys/{key['key_id']}").status_code == 204
        pipeline.invalidate()  # what the deletion's message does on this replica
        second = asyncio.ensure_future(pipeline.lookup(key["api_key"]))
        await asyncio.sleep(0.05)
        release.set()
        await first  # began before the deletion: its own answer may be the old one
        return await second, await pipeline.lookup(key["api_key"])

    try:
        assert in_new_loop(scenario) == (None, None)
    finally:
        pipeline.stop()
