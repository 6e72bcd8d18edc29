"""Directory events go through an outbox: none is lost when Redis refuses them after commit."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import func, select

from directory.outbox import relay_pending
from shared.directory_events import DirectoryEvent
from shared.models import DirectoryOutbox
from shared.runtime import Runtime
from tests.factories import make_user


def _outbox(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(DirectoryOutbox)) or 0)


def _stream(runtime: Runtime) -> list[DirectoryEvent]:
    entries = runtime.redis.xrange(runtime.keys.directory_events)
    return [DirectoryEvent.model_validate_json(fields["event"]) for _, fields in entries]


def test_a_published_event_leaves_nothing_in_the_outbox(admin, runtime):
    user = make_user(admin)
    admin.patch(f"/directory/users/{user['auth_user_id']}", json={"status": "disabled"})
    assert [e.type for e in _stream(runtime)] == ["user.updated", "user.disabled"]
    assert _outbox(runtime) == 0
    assert relay_pending(runtime, older_than_seconds=0) == 0


def test_events_redis_refused_wait_in_the_outbox_and_are_relayed_once(admin, runtime, monkeypatch):
    user = make_user(admin)

    def refused(*args, **kwargs):
        raise redis.ConnectionError("Redis went away")

    monkeypatch.setattr("directory.outbox.publish_directory_events", refused)
    response = admin.patch(f"/directory/users/{user['auth_user_id']}", json={"status": "disabled"})
    assert response.status_code == 200  # the change itself is committed
    assert _stream(runtime) == [] and _outbox(runtime) == 1  # one change, its two events
    with pytest.raises(redis.ConnectionError):  # still refused: the rows stay
        relay_pending(runtime, older_than_seconds=0)
    monkeypatch.undo()
    assert _outbox(runtime) == 1
    assert relay_pending(runtime, older_than_seconds=3600) == 0  # too fresh for the relay
    assert relay_pending(runtime, older_than_seconds=0) == 2
    assert [e.type for e in _stream(runtime)] == ["user.updated", "user.disabled"]
    assert _outbox(runtime) == 0
    assert relay_pending(runtime, older_than_seconds=0) == 0
