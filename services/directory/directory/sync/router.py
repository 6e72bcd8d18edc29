"""`GET /users/sync`: one-way user sync for the calling application (DESIGN.md §8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from directory.sync import service
from directory.sync.schemas import SyncPage
from directory.sync.stream import page_body
from shared.db import DbSession
from shared.errors import error_responses
from shared.pipeline import CallingApp

router = APIRouter(tags=["sync"])


@router.get(
    "/users/sync",
    response_model=None,
    responses={
        200: {"model": SyncPage},
        304: {"description": "Not modified: `If-None-Match` matched the page's ETag."},
        **error_responses(400, 401, 403, 422),
    },
)
def sync_users(
    request: Request,
    caller: CallingApp,
    db: DbSession,
    since: Annotated[
        str | None,
        Query(description="`next_cursor` of the previous call; omit (or empty) for the full set"),
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="Entries per page")] = None,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """Users assigned to the calling application: the full set, or what changed since a cursor."""
    runtime = request.app.state.runtime
    query = service.parse_query(since, limit, runtime.settings)
    version = service.feed_version(db, caller.app, query)
    caller.details.update(mode="full" if query.since is None else "delta", limit=query.limit)
    headers = {"ETag": version.etag, "Cache-Control": "private, no-cache"}
    if service.etag_matches(if_none_match, version.etag):
        caller.details["not_modified"] = True
        return Response(status_code=304, headers=headers)
    plan = service.plan_page(db, caller.app, query, version)
    caller.details["has_more"] = plan.has_more
    return StreamingResponse(
        page_body(runtime.session_factory, plan, caller.details),
        media_type="application/json",
        headers=headers,
    )
