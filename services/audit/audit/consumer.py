"""The audit consumer: moves events from the Redis stream into `audit_event`, losing none.

    python -m audit.consumer      (settings from IDENTITY_* like every service)

Several may run at once (one consumer group, each its own name). A batch is
acknowledged only after its transaction commits, and storing is idempotent
on uuid, so a consumer killed at any point costs a re-delivery, never a lost
or doubled row: a restart under the same name re-reads its own pending
entries, and live consumers take over (XAUTOCLAIM) what a dead one left.
Unreadable entries go to a dead-letter stream instead of blocking the group.
In the embedded dev mode the same loop runs as a thread of the one process.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError, OperationalError

from audit.retention import run_daily_retention
from audit.store import AlreadyStored, PreparedEvent, prepare_event, store_records
from audit.stream import AuditStream, Entry, consumer_name
from shared.audit import STREAM_FIELD, AuditRecord
from shared.logging import configure_logging
from shared.runtime import Runtime
from shared.settings import load_settings

log = structlog.get_logger("audit.consumer")

BATCH_SIZE = 500
BLOCK_MS = 1000
RETENTION_CHECK_SECONDS = 600
STORE_ATTEMPTS = 10
# MariaDB deadlock and lock wait timeout: the transaction is simply tried again.
RETRY_AT_ONCE = {1213, 1205}


def parse_entry(fields: dict[str, Any]) -> AuditRecord:
    """The record in a stream entry (AuditRecord.from_stream, parsed and checked in one step)."""
    raw = fields.get(STREAM_FIELD)
    if raw is None:
        raise ValueError("stream entry has no event field")
    record = AuditRecord.model_validate_json(raw)
    # The key of idempotency: a real UUID, in one spelling, never cut short to fit.
    record.uuid = str(uuid.UUID(record.uuid))
    return record


@dataclass
class Batch:
    parsed: list[tuple[str, dict[str, Any], PreparedEvent]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # entry ids to acknowledge


class AuditConsumer:
    def __init__(
        self,
        runtime: Runtime,
        *,
        name: str | None = None,
        batch_size: int = BATCH_SIZE,
        block_ms: int = BLOCK_MS,
        claim_idle_seconds: float | None = None,
        linger_ms: int | None = None,
    ) -> None:
        self.runtime = runtime
        self.stream = AuditStream(runtime.redis, runtime.keys, name or consumer_name())
        self.batch_size = batch_size
        self.block_ms = block_ms
        idle = claim_idle_seconds or runtime.settings.audit_claim_idle_seconds
        self.claim_idle_ms = int(idle * 1000)
        self.claim_every = min(idle, 30.0)
        linger = runtime.settings.audit_batch_linger_ms if linger_ms is None else linger_ms
        self.linger = linger / 1000

    # -- one batch -------------------------------------------------------------
    def _store_once(self, events: list[PreparedEvent]) -> int:
        check_first = False
        for _ in range(STORE_ATTEMPTS):
            with self.runtime.session_factory() as session:
                try:
                    fresh = store_records(session, events, check_first=check_first)
                    session.commit()
                    return len(fresh)
                except AlreadyStored:
                    session.rollback()
                    check_first = True
                except OperationalError as exc:
                    if _error_code(exc) not in RETRY_AT_ONCE:
                        raise
                    session.rollback()
        raise RuntimeError("gave up storing a batch after repeated conflicts")

    def _store(self, events: list[PreparedEvent]) -> tuple[int, dict[str, str]]:
        """Store the batch; returns (new rows, {uuid: why} of events the DB refused)."""
        try:
            return self._store_once(events), {}
        except OperationalError:
            raise  # the DB is away: keep the batch pending and retry later
        except DBAPIError as exc:
            log.warning("audit_batch_refused", error=str(exc.orig), size=len(events))
        stored, refused = 0, {}
        for event in events:  # find the one(s) the database will not take
            try:
                stored += self._store_once([event])
            except OperationalError:
                raise
            except DBAPIError as exc:
                refused[event.record.uuid] = str(exc.orig)
        return stored, refused

    def prepare(self, entries: list[Entry]) -> Batch:
        """Parse a batch; unreadable entries are set aside (and acknowledged with the batch)."""
        batch = Batch()
        for entry_id, fields in entries:
            if not fields:  # deleted from the stream while pending: nothing to store
                batch.done.append(entry_id)
                continue
            try:
                batch.parsed.append((entry_id, fields, prepare_event(parse_entry(fields))))
            except ValueError as exc:
                self.stream.set_aside(entry_id, fields, f"unreadable: {exc}")
                batch.done.append(entry_id)
        return batch

    def commit(self, batch: Batch) -> int:
        """Store a parsed batch, then acknowledge it; returns the new rows."""
        stored, refused = self._store([event for _, _, event in batch.parsed])
        for entry_id, fields, event in batch.parsed:
            if event.record.uuid in refused:
                reason = refused[event.record.uuid]
                self.stream.set_aside(entry_id, fields, f"refused: {reason}")
            batch.done.append(entry_id)
        self.stream.acknowledge(batch.done)
        return stored

    def handle(self, entries: list[Entry]) -> int:
        return self.commit(self.prepare(entries))

    # -- the loop --------------------------------------------------------------
    def claim_abandoned(self) -> int:
        """Store what dead consumers left pending; returns the new rows."""
        stored, start = 0, "0-0"
        while True:
            start, entries = self.stream.claim(self.claim_idle_ms, start, self.batch_size)
            if entries:
                stored += self.handle(entries)
            if start == "0-0":
                break
        self.stream.forget_departed_consumers()
        return stored

    def drain(self) -> int:
        """Store everything waiting now, then return (tests and benchmarks)."""
        self.stream.ensure_group()
        stored = self.claim_abandoned()
        for own_pending in (True, False):
            while entries := self.stream.read(
                own_pending=own_pending, count=self.batch_size, block_ms=None
            ):
                stored += self.handle(entries)
        return stored

    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set; a failing DB or Redis means waiting, never exiting."""
        need_group, own_pending, failures = True, True, 0
        next_claim = next_retention = 0.0
        while not stop.is_set():
            try:
                if need_group:
                    self.stream.ensure_group()
                    need_group = False
                now = time.monotonic()
                if now >= next_claim:
                    self.claim_abandoned()
                    next_claim = now + self.claim_every
                if now >= next_retention:
                    run_daily_retention(self.runtime)
                    next_retention = now + RETENTION_CHECK_SECONDS
                entries = self.stream.read(
                    own_pending=own_pending, count=self.batch_size, block_ms=self.block_ms
                )
                if entries:
                    self.handle(entries)
                else:
                    own_pending = False
                failures = 0
                if entries and len(entries) < self.batch_size:
                    # A trickle: the first event after a quiet spell is stored at once, and
                    # the rest of a steady flow gathers for one batch (one transaction and
                    # acknowledgement per batch, not per event: 5-8x less CPU at 500/s).
                    stop.wait(self.linger)
            except Exception as exc:  # keep going: the entries stay pending, nothing is lost
                failures += 1
                # Re-read our own pending entries first, and recreate the group if it vanished.
                need_group, own_pending = True, True
                log.warning("audit_consumer_retry", error=str(exc), kind=type(exc).__name__)
                stop.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))


def _error_code(exc: DBAPIError) -> object:
    args = getattr(exc.orig, "args", ())
    return args[0] if args else None


def main() -> None:
    settings = load_settings(service_name="audit-consumer")
    configure_logging("audit-consumer", settings.log_level)
    runtime = Runtime(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    consumer = AuditConsumer(runtime)
    log.info("audit_consumer_started", consumer=consumer.stream.name)
    try:
        consumer.run(stop)
    finally:
        runtime.close()
        log.info("audit_consumer_stopped", consumer=consumer.stream.name)


if __name__ == "__main__":
    main()
