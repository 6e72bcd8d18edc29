"""`/audit/events` and `/audit/purge`: the administrators' audit log API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from audit.events import service
from audit.events.repository import EventFilter
from audit.events.schemas import EventPage, PurgeOut, PurgeRequest
from shared.admin_auth import CurrentAdmin
from shared.audit import EventType, Outcome
from shared.csv_export import stream_csv
from shared.db import DbSession
from shared.errors import error_responses

router = APIRouter(prefix="/audit", tags=["audit"], responses=error_responses(401, 403, 422))


def event_filter(
    type_: Annotated[
        list[EventType] | None, Query(alias="type", description="Repeat for several types")
    ] = None,
    user_id: Annotated[uuid.UUID | None, Query(description="The user the event is about")] = None,
    application_id: uuid.UUID | None = None,
    ip: Annotated[str | None, Query(max_length=64, description="Effective IP")] = None,
    outcome: Outcome | None = None,
    actor_type: Annotated[
        Literal["admin", "app", "user", "system"] | None, Query(description="Who acted")
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=200, description="The actor's id or name, exactly")
    ] = None,
    target_type: Annotated[
        Literal["user", "application", "api_key"] | None,
        Query(description="What the event acted on"),
    ] = None,
    since: Annotated[
        datetime | None, Query(alias="from", description="ISO 8601, inclusive; naive is UTC")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="ISO 8601, exclusive; naive is UTC")
    ] = None,
) -> EventFilter:
    return service.build_filter(
        type_ or [],
        str(user_id) if user_id else None,
        str(application_id) if application_id else None,
        ip,
        outcome,
        since,
        until,
        actor_type=actor_type,
        actor=actor,
        target_type=target_type,
    )


Filter = Annotated[EventFilter, Depends(event_filter)]


@router.get("/events", response_model=EventPage)
def list_events(
    db: DbSession,
    _: CurrentAdmin,
    f: Filter,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EventPage:
    """List audit events, newest first, with filters and cursor paging."""
    return service.list_events(db, f, cursor, limit)


@router.get(
    "/events.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_events(request: Request, _: CurrentAdmin, f: Filter) -> StreamingResponse:
    """Export the filtered audit events as CSV, newest first (formula-like cells escaped)."""
    factory = request.app.state.session_factory

    def body() -> Iterator[bytes]:
        # Its own session: the response streams after the request's session is closed.
        with factory() as session:
            yield from stream_csv(service.EXPORT_COLUMNS, service.export_rows(session, f))

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
    )


@router.post("/purge", response_model=PurgeOut)
def purge(request: Request, db: DbSession, admin: CurrentAdmin, body: PurgeRequest) -> PurgeOut:
    """Delete audit events older than N days (0: all), then record the purge as a new event."""
    deleted = service.purge_events(db, request.app.state.runtime, admin, body.older_than_days)
    return PurgeOut(deleted=deleted)
