"""Storing audit records as rows: cleaned, once per uuid, with the usage counters in step.

The consumer and the purge both write through `store_records`, so every row in
`audit_event` went through the same cleaning: secrets masked, control
characters escaped (a forged newline cannot fake a second log line or CSV row),
strings cut to their column's size and oversized details replaced by a note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, cast

import orjson
from sqlalchemy import String, Table, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from audit.usage.repository import add_usage
from shared.audit import AuditRecord
from shared.logging import mask_secrets
from shared.models.audit import AuditEvent

EVENT_TABLE = cast(Table, AuditEvent.__table__)
COLUMN_SIZES = {c.name: c.type.length for c in EVENT_TABLE.columns if isinstance(c.type, String)}
MAX_DETAILS_BYTES = 16 * 1024
# The columns taken from the record as they are; `id` is the table's own, `details` is cleaned.
ROW_FIELDS = [c.name for c in EVENT_TABLE.columns if c.name not in ("id", "details")]
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class AlreadyStored(Exception):
    """Some of the events were already stored (a replay, or another consumer meanwhile)."""


def printable(text: str) -> str:
    """`text` with control characters written as escapes (`\\n`, `\\x1b`)."""
    return CONTROL_CHARS.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def _clean_details(value: Any) -> Any:
    if isinstance(value, dict):
        return {printable(str(k)): _clean_details(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_details(v) for v in value]
    if isinstance(value, str):
        return printable(value)
    return value


@dataclass(frozen=True)
class PreparedEvent:
    """A record with its cleaned `audit_event` row, ready to insert."""

    record: AuditRecord
    row: dict[str, Any]


def prepare_event(record: AuditRecord) -> PreparedEvent:
    row: dict[str, Any] = {name: getattr(record, name) for name in ROW_FIELDS}
    for column, size in COLUMN_SIZES.items():
        value = row[column]
        if value is not None:
            row[column] = printable(str(value))[:size]
    occurred_at = record.occurred_at
    row["occurred_at"] = occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=UTC)
    details = _clean_details(mask_secrets(record.details))
    size = len(orjson.dumps(details))
    row["details"] = details if size <= MAX_DETAILS_BYTES else {"truncated": True, "bytes": size}
    return PreparedEvent(record, row)


def _insert_ignoring_duplicates(session: Session) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert(EVENT_TABLE).on_conflict_do_nothing(index_elements=["uuid"])
    return mysql.insert(EVENT_TABLE).prefix_with("IGNORE")


def store_records(
    session: Session, events: Sequence[PreparedEvent], *, check_first: bool = False
) -> list[AuditRecord]:
    """Insert the events (idempotent on uuid) and count their API usage; returns them.

    Only flushes: the caller commits. Raises `AlreadyStored` when any of them
    was in the table already: the caller rolls back and calls again with
    `check_first`, which inserts and counts only those not stored yet. So the
    common case is one INSERT, and usage is never counted twice.
    """
    fresh = list({event.record.uuid: event for event in events}.values())
    if check_first and fresh:
        uuids = [event.record.uuid for event in fresh]
        stored = set(
            session.scalars(select(EVENT_TABLE.c.uuid).where(EVENT_TABLE.c.uuid.in_(uuids)))
        )
        fresh = [event for event in fresh if event.record.uuid not in stored]
    if not fresh:
        return []
    result = session.execute(_insert_ignoring_duplicates(session), [e.row for e in fresh])
    if result.rowcount != len(fresh):  # type: ignore[attr-defined]
        raise AlreadyStored()
    add_usage(session, [e.row for e in fresh])
    return [e.record for e in fresh]
