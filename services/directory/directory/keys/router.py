"""API auth keys: created per application, listed for the console, deleted by id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from directory.keys import service
from directory.keys.schemas import ApiKeyCreated, ApiKeyOut, ApiKeyPage
from shared.admin_auth import CurrentAdmin
from shared.db import DbSession
from shared.errors import error_responses

router = APIRouter(prefix="/directory", tags=["api keys"], responses=error_responses(401, 403, 422))


@router.post(
    "/applications/{application_id}/keys",
    response_model=ApiKeyCreated,
    status_code=201,
    responses=error_responses(404),
)
def create_key(
    request: Request, db: DbSession, admin: CurrentAdmin, application_id: uuid.UUID
) -> ApiKeyCreated:
    """Create an API auth key; the full key is shown only in this response."""
    return service.create_key(db, request.app.state.runtime, admin, application_id)


@router.get(
    "/applications/{application_id}/keys",
    response_model=list[ApiKeyOut],
    responses=error_responses(404),
)
def list_application_keys(
    request: Request, db: DbSession, _: CurrentAdmin, application_id: uuid.UUID
) -> list[ApiKeyOut]:
    """List one application's keys (without the keys themselves)."""
    return service.application_keys(db, request.app.state.runtime, application_id)


@router.get("/keys", response_model=ApiKeyPage)
def list_keys(
    request: Request,
    db: DbSession,
    _: CurrentAdmin,
    application_id: uuid.UUID | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ApiKeyPage:
    """List every application's keys, newest first, with when each was last used."""
    return service.page_keys(db, request.app.state.runtime, application_id, offset, limit)


@router.delete("/keys/{key_id}", status_code=204, responses=error_responses(404))
def delete_key(request: Request, db: DbSession, admin: CurrentAdmin, key_id: uuid.UUID) -> Response:
    """Delete a key; calls with it fail from the next request on."""
    service.delete_key(db, request.app.state.runtime, admin, key_id)
    return Response(status_code=204)
