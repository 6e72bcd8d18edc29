"""SQL for the per-application usage counters (`audit_usage`).

Counters rather than an aggregate over `audit_event`: reading them is one row
per application however many millions of events there are, and they keep
counting across purges and retention, which only trim the history.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from shared.audit import EventType
from shared.models.audit import AuditUsage

USAGE_TABLE = cast(Table, AuditUsage.__table__)
CALLS = {EventType.API_CALL}
DENIED = {EventType.API_DENIED_KEY, EventType.API_DENIED_APP_DISABLED, EventType.API_DENIED_IP}


def _latest(current: datetime | None, stamp: datetime) -> datetime:
    return stamp if current is None or stamp > current else current


def usage_deltas(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row of increments per application that the `audit_event` rows mention."""
    deltas: dict[str, dict[str, Any]] = {}
    for event in rows:
        app_id, kind = event["application_id"], event["type"]
        if app_id is None or kind not in CALLS | DENIED:
            continue
        row = deltas.setdefault(
            app_id,
            {
                "application_id": app_id,
                "calls": 0,
                "denied": 0,
                "last_call_at": None,
                "last_denied_at": None,
            },
        )
        counter, stamp = (
            ("calls", "last_call_at") if kind in CALLS else ("denied", "last_denied_at")
        )
        row[counter] += 1
        row[stamp] = _latest(row[stamp], event["occurred_at"])
    # One order for every consumer, so two upserting the same rows cannot deadlock.
    return [deltas[key] for key in sorted(deltas)]


def _later(dialect: str, current: Any, new: Any) -> ColumnElement[Any]:
    """The later of two nullable timestamps (GREATEST/MAX return NULL if either is NULL)."""
    greatest = func.max if dialect == "sqlite" else func.greatest
    return greatest(func.coalesce(current, new), func.coalesce(new, current))


def add_usage(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """Count API calls and denials among the `audit_event` rows just inserted."""
    rows = usage_deltas(events)
    if not rows:
        return
    table = USAGE_TABLE
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        lite = sqlite.insert(table)
        new: Any = lite.excluded
        statement: Any = lite.on_conflict_do_update(
            index_elements=["application_id"],
            set_={
                "calls": table.c.calls + new.calls,
                "denied": table.c.denied + new.denied,
                "last_call_at": _later(dialect, table.c.last_call_at, new.last_call_at),
                "last_denied_at": _later(dialect, table.c.last_denied_at, new.last_denied_at),
            },
        )
    else:
        my = mysql.insert(table)
        new = my.inserted
        statement = my.on_duplicate_key_update(
            calls=table.c.calls + new.calls,
            denied=table.c.denied + new.denied,
            last_call_at=_later(dialect, table.c.last_call_at, new.last_call_at),
            last_denied_at=_later(dialect, table.c.last_denied_at, new.last_denied_at),
        )
    session.execute(statement, rows)


def usage_rows(session: Session, application_id: uuid.UUID | None) -> list[AuditUsage]:
    query = select(AuditUsage).order_by(AuditUsage.calls.desc(), AuditUsage.application_id)
    if application_id is not None:
        query = query.where(AuditUsage.application_id == str(application_id))
    return list(session.scalars(query))
