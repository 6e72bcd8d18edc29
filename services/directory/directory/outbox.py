"""Directory events through an outbox: committed with the change, then put on the stream.

The events of a change are a row written in the change's own transaction.
Right after the commit they go to the Redis stream and the row is deleted; if Redis
refused them, the relay (a thread in every directory process) sends them
within `RELAY_SECONDS` or so of Redis coming back. So a Redis blip after a
commit delays a disable, an unassignment or a password change reaching the
auth service; it never loses it. An event may reach the stream twice (a
crash between the send and the delete), and a relayed one after a newer
event of the same user; the auth consumer's handling is idempotent, and an
event that ends sessions ends them whatever came since: at worst a session
ends that could have lived.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from datetime import timedelta

import orjson
import structlog
from redis.exceptions import RedisError
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.after_commit import defer
from shared.db import transaction
from shared.directory_events import DirectoryEvent, publish_directory_events
from shared.models import DirectoryOutbox, new_id, utcnow
from shared.runtime import Runtime

log = structlog.get_logger("directory.outbox")

# How often the relay looks, and how long a row waits for the send after its commit
# before the relay takes it over.
RELAY_SECONDS = 5.0
RELAY_BATCH = 500


def stage_events(session: Session, runtime: Runtime, events: list[DirectoryEvent]) -> None:
    """Write the events with the transaction; send them once it has committed."""
    if not events:
        return
    row_id = new_id()
    row = {"id": row_id, "events": _dumps(events), "created_at": utcnow()}
    session.execute(insert(DirectoryOutbox), [row])
    defer(session, lambda: _send_committed(runtime, [row_id], events))


def _dumps(events: list[DirectoryEvent]) -> str:
    return orjson.dumps([e.model_dump(mode="json") for e in events]).decode()


def _loads(text: str) -> list[DirectoryEvent]:
    return [DirectoryEvent.model_validate(item) for item in orjson.loads(text)]


def _send_committed(runtime: Runtime, ids: list[uuid.UUID], events: list[DirectoryEvent]) -> None:
    try:
        publish_directory_events(runtime.redis, runtime.keys.directory_events, events)
    except RedisError as exc:
        log.warning("directory_events_deferred", count=len(events), error=type(exc).__name__)
        return
    try:
        with transaction(runtime.session_factory) as session:
            session.execute(delete(DirectoryOutbox).where(DirectoryOutbox.id.in_(ids)))
    except SQLAlchemyError as exc:  # sent; the relay will send them again, harmlessly
        log.warning("directory_outbox_cleanup_failed", error=type(exc).__name__)


def relay_pending(runtime: Runtime, older_than_seconds: float = RELAY_SECONDS) -> int:
    """Send what stayed in the outbox longer than a send after commit takes; how many events."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    query = (
        select(DirectoryOutbox.id, DirectoryOutbox.events)
        .where(DirectoryOutbox.created_at <= cutoff)
        .order_by(DirectoryOutbox.created_at, DirectoryOutbox.id)
        .limit(RELAY_BATCH)
        # Two directory replicas relaying at once take different rows.
        .with_for_update(skip_locked=True)
    )
    with transaction(runtime.session_factory) as session:
        rows = session.execute(query).all()
        if not rows:
            return 0
        events = [event for row in rows for event in _loads(row.events)]
        publish_directory_events(runtime.redis, runtime.keys.directory_events, events)
        session.execute(delete(DirectoryOutbox).where(DirectoryOutbox.id.in_([r.id for r in rows])))
    log.info("directory_events_relayed", count=len(events))
    return len(events)


class OutboxRelay:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.wait(RELAY_SECONDS):
            try:
                while relay_pending(self._runtime) >= RELAY_BATCH:
                    pass
            except Exception as exc:  # Redis or MySQL still away: the next round retries
                log.warning("directory_outbox_relay_failed", error=type(exc).__name__)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="directory-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


_relays: weakref.WeakKeyDictionary[Runtime, OutboxRelay] = weakref.WeakKeyDictionary()


def register_outbox_relay(runtime: Runtime) -> None:
    """Run the relay with the runtime; once per runtime, however often the app starts."""
    if runtime in _relays:
        return
    relay = _relays[runtime] = OutboxRelay(runtime)
    runtime.add_background(relay.start, relay.stop)
