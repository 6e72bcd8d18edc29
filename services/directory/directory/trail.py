"""What a directory write tells the rest of the system, once it has committed."""

from __future__ import annotations

from sqlalchemy.orm import Session

from directory.outbox import stage_events
from shared.after_commit import defer
from shared.directory_events import DirectoryEvent
from shared.invalidation import Topic
from shared.runtime import Runtime


def announce(
    session: Session,
    runtime: Runtime,
    events: list[DirectoryEvent] | None = None,
    topics: tuple[Topic, ...] = (),
) -> None:
    """Directory events (auth ends sessions) and cache invalidations, after commit."""
    if events:
        stage_events(session, runtime, list(events))
    for topic in topics:
        defer(session, lambda t=topic: runtime.bus.publish(t))  # type: ignore[misc]
