"""`/directory/users`: the administrators' user API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from directory.users import repository, service
from directory.users.schemas import (
    AssignmentsOut,
    AssignmentsUpdate,
    BulkAssignment,
    BulkAssignmentOut,
    UserCreate,
    UserOut,
    UserPage,
    UserUpdate,
)
from shared.admin_auth import CurrentAdmin
from shared.csv_export import stream_csv
from shared.db import DbSession
from shared.errors import error_responses

router = APIRouter(prefix="/directory", tags=["users"], responses=error_responses(401, 403, 422))


@router.get("/users", response_model=UserPage)
def list_users(
    db: DbSession,
    _: CurrentAdmin,
    q: Annotated[
        str | None, Query(max_length=200, description="Search name, email, mobile, employee ID")
    ] = None,
    status: Literal["active", "disabled"] | None = None,
    application_id: uuid.UUID | None = None,
    is_admin: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> UserPage:
    """List users with search, filters and paging."""
    query = repository.filtered_users(q, status, application_id, is_admin)
    users, total = repository.page_users(db, query, offset, limit)
    apps = repository.applications_of(db, [u.id for u in users])
    return UserPage(
        items=[service.to_out(u, apps.get(u.id, [])) for u in users],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.post("/users", response_model=UserOut, status_code=201, responses=error_responses(409))
def create_user(request: Request, db: DbSession, admin: CurrentAdmin, body: UserCreate) -> UserOut:
    """Create a user."""
    user = service.create_user(db, request.app.state.runtime, admin, body)
    return service.user_out(db, user)


@router.post("/assignments", response_model=BulkAssignmentOut, responses=error_responses(404))
def bulk_assign(
    request: Request, db: DbSession, admin: CurrentAdmin, body: BulkAssignment
) -> BulkAssignmentOut:
    """Assign or unassign many users to or from applications at once."""
    changed = service.bulk_assign(db, request.app.state.runtime, admin, body)
    return BulkAssignmentOut(action=body.action, changed=changed)


EXPORT_COLUMNS = ("name", "mobile_number", "email", "emp_id", "applications", "is_admin", "status")


@router.get(
    "/users/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_users(
    request: Request,
    _: CurrentAdmin,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Literal["active", "disabled"] | None = None,
    application_id: uuid.UUID | None = None,
    is_admin: bool | None = None,
) -> StreamingResponse:
    """Export users as CSV in the import format (formula-like cells escaped)."""
    query = repository.filtered_users(q, status, application_id, is_admin)
    factory = request.app.state.session_factory

    def rows() -> Iterator[bytes]:
        # Its own session: the response streams after the request's session is closed.
        with factory() as session:
            yield from stream_csv(EXPORT_COLUMNS, repository.export_rows(session, query))

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="users.csv"'},
    )


@router.get("/users/{user_id}", response_model=UserOut, responses=error_responses(404))
def get_user(db: DbSession, _: CurrentAdmin, user_id: uuid.UUID) -> UserOut:
    """Get one user."""
    return service.user_out(db, service.get_user(db, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, responses=error_responses(404, 409))
def update_user(
    request: Request, db: DbSession, admin: CurrentAdmin, user_id: uuid.UUID, body: UserUpdate
) -> UserOut:
    """Edit, disable/enable, make admin or set MFA for a user."""
    user = service.update_user(db, request.app.state.runtime, admin, user_id, body)
    return service.user_out(db, user)


@router.delete("/users/{user_id}", status_code=204, responses=error_responses(404))
def delete_user(
    request: Request, db: DbSession, admin: CurrentAdmin, user_id: uuid.UUID
) -> Response:
    """Delete a user; their sessions end and applications see them removed."""
    service.delete_user(db, request.app.state.runtime, admin, user_id)
    return Response(status_code=204)


@router.put(
    "/users/{user_id}/applications", response_model=AssignmentsOut, responses=error_responses(404)
)
def set_assignments(
    request: Request,
    db: DbSession,
    admin: CurrentAdmin,
    user_id: uuid.UUID,
    body: AssignmentsUpdate,
) -> AssignmentsOut:
    """Replace the applications a user is assigned to."""
    user = service.set_assignments(
        db, request.app.state.runtime, admin, user_id, body.application_ids
    )
    return AssignmentsOut(
        auth_user_id=user.id, applications=service.user_out(db, user).applications
    )
