"""Directory change events: the contract the auth service consumes to end sessions.

Published on a Redis stream after the directory's transaction commits, through
the directory's outbox (`directory/outbox.py`), so none is lost to a Redis blip.
"""

from __future__ import annotations

from enum import StrEnum

import orjson
import redis
from pydantic import BaseModel


class DirectoryEventType(StrEnum):
    USER_UPDATED = "user.updated"  # profile fields changed: refresh cached profiles
    USER_DISABLED = "user.disabled"  # end every session
    USER_DELETED = "user.deleted"  # end every session
    USER_UNASSIGNED = "user.unassigned"  # end sessions at `application_ids`
    USER_PASSWORD_CHANGED = "user.password_changed"  # end every session


class DirectoryEvent(BaseModel):
    type: DirectoryEventType
    user_id: str
    application_ids: list[str] = []

    def to_stream(self) -> dict[str, bytes]:
        return {"event": orjson.dumps(self.model_dump(mode="json"))}


def publish_directory_events(
    client: redis.Redis, stream: str, events: list[DirectoryEvent]
) -> None:
    """XADD the events in one round trip; a RedisError reaches the caller."""
    if not events:
        return
    pipe = client.pipeline(transaction=False)
    for item in events:
        pipe.xadd(stream, item.to_stream())  # type: ignore[arg-type]
    pipe.execute()
