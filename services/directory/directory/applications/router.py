"""`/directory/applications`: registering consuming applications and their IP allow-lists."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from directory.applications import repository, service
from directory.applications.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ApplicationPage,
    ApplicationUpdate,
    AppStatus,
)
from shared.admin_auth import CurrentAdmin
from shared.db import DbSession
from shared.errors import error_responses

router = APIRouter(
    prefix="/directory", tags=["applications"], responses=error_responses(401, 403, 422)
)


@router.get("/applications", response_model=ApplicationPage)
def list_applications(
    db: DbSession,
    _: CurrentAdmin,
    q: Annotated[str | None, Query(max_length=100, description="Search by name")] = None,
    status: AppStatus | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ApplicationPage:
    """List applications with their assigned-user and key counts."""
    apps, total = repository.page(db, repository.filtered(q, status), offset, limit)
    ids = [a.id for a in apps]
    users = repository.user_counts(db, ids)
    keys = repository.key_counts(db, ids)
    return ApplicationPage(
        items=[service.to_out(a, users.get(a.id, 0), keys.get(a.id, 0)) for a in apps],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.post(
    "/applications",
    response_model=ApplicationOut,
    status_code=201,
    responses=error_responses(409),
)
def create_application(
    request: Request, db: DbSession, admin: CurrentAdmin, body: ApplicationCreate
) -> ApplicationOut:
    """Register an application with its allowed IPs/CIDRs."""
    app = service.create_application(db, request.app.state.runtime, admin, body)
    return service.application_out(db, app)


@router.get(
    "/applications/{application_id}", response_model=ApplicationOut, responses=error_responses(404)
)
def get_application(db: DbSession, _: CurrentAdmin, application_id: uuid.UUID) -> ApplicationOut:
    """Get one application."""
    return service.application_out(db, service.get_application(db, application_id))


@router.patch(
    "/applications/{application_id}",
    response_model=ApplicationOut,
    responses=error_responses(404, 409),
)
def update_application(
    request: Request,
    db: DbSession,
    admin: CurrentAdmin,
    application_id: uuid.UUID,
    body: ApplicationUpdate,
) -> ApplicationOut:
    """Rename, enable/disable, or replace the allowed IPs of an application."""
    app = service.update_application(db, request.app.state.runtime, admin, application_id, body)
    return service.application_out(db, app)


@router.delete(
    "/applications/{application_id}", status_code=204, responses=error_responses(404, 409)
)
def delete_application(
    request: Request,
    db: DbSession,
    admin: CurrentAdmin,
    application_id: uuid.UUID,
    force: Annotated[
        bool, Query(description="Also delete its API keys and user assignments")
    ] = False,
) -> Response:
    """Delete an application; refused while it has keys or users unless forced."""
    service.delete_application(db, request.app.state.runtime, admin, application_id, force=force)
    return Response(status_code=204)
