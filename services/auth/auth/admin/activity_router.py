"""`/auth/admin/...`: a user's devices and sessions for the console, and ending them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from auth.admin import activity
from auth.admin.schemas import (
    ActivityCounts,
    DeviceList,
    FactorsReset,
    RevokedCount,
    SecondFactorsOut,
    SessionList,
)
from shared.admin_auth import CurrentAdmin
from shared.admin_trail import record_admin_action
from shared.audit import EventType
from shared.db import DbSession
from shared.errors import error_responses

router = APIRouter(
    prefix="/auth/admin", tags=["console: sessions"], responses=error_responses(401, 403, 422)
)


@router.get("/users/{user_id}/sessions", response_model=SessionList, responses=error_responses(404))
def list_sessions(
    db: DbSession,
    _: CurrentAdmin,
    user_id: uuid.UUID,
    include_ended: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """List a user's active sessions (with `include_ended`, ended ones too), newest first."""
    return {"items": activity.list_sessions(db, user_id, include_ended, limit)}


@router.get("/users/{user_id}/devices", response_model=DeviceList, responses=error_responses(404))
def list_devices(db: DbSession, _: CurrentAdmin, user_id: uuid.UUID) -> Any:
    """List the devices a user has signed in from."""
    return {"items": activity.list_devices(db, user_id)}


@router.get("/activity", response_model=ActivityCounts)
def activity_counts(
    db: DbSession,
    _: CurrentAdmin,
    user_id: Annotated[list[uuid.UUID], Query(min_length=1, max_length=500)],
) -> Any:
    """Devices, active sessions and enrolled second factors per user, for the directory's
    user list."""
    return {"counts": activity.activity_counts(db, list(dict.fromkeys(user_id)))}


@router.delete("/sessions/{session_id}", status_code=204, responses=error_responses(404))
def revoke_session(
    request: Request, db: DbSession, admin: CurrentAdmin, session_id: uuid.UUID
) -> Response:
    """End one session at once (its access tokens stop working on the next check)."""
    runtime = request.app.state.runtime
    target = activity.end_session(db, runtime, session_id)
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.ADMIN_SESSION_REVOKED,
        subject_user_id=target.user_id,
        details={"session_id": str(session_id)},
    )
    return Response(status_code=204)


@router.delete(
    "/users/{user_id}/sessions", response_model=RevokedCount, responses=error_responses(404)
)
def revoke_user_sessions(
    request: Request, db: DbSession, admin: CurrentAdmin, user_id: uuid.UUID
) -> Any:
    """End every session of a user."""
    runtime = request.app.state.runtime
    count = activity.end_user_sessions(db, runtime, user_id)
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.ADMIN_SESSION_REVOKED,
        subject_user_id=user_id,
        details={"scope": "all", "revoked": count},
    )
    return {"revoked": count}


@router.delete("/devices/{device_id}", status_code=204, responses=error_responses(404))
def forget_device(
    request: Request, db: DbSession, admin: CurrentAdmin, device_id: uuid.UUID
) -> Response:
    """End a device's sessions and forget the device."""
    runtime = request.app.state.runtime
    device = activity.forget_device(db, runtime, device_id)
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.ADMIN_SESSION_REVOKED,
        subject_user_id=device.user_id,
        details={"device_id": str(device_id), "device_name": device.name},
    )
    return Response(status_code=204)


@router.get(
    "/users/{user_id}/second-factors",
    response_model=SecondFactorsOut,
    responses=error_responses(404),
)
def second_factors(request: Request, db: DbSession, _: CurrentAdmin, user_id: uuid.UUID) -> Any:
    """A user's enrolled second factors (authenticator app, passkeys, recovery codes left)."""
    return activity.second_factors(db, request.app.state.runtime, user_id)


@router.delete(
    "/users/{user_id}/second-factors",
    response_model=FactorsReset,
    responses=error_responses(404),
)
def reset_second_factors(
    request: Request, db: DbSession, admin: CurrentAdmin, user_id: uuid.UUID
) -> Any:
    """Remove every second factor of a user and end their sessions (a lost phone). Where
    their sign-in requires one, they enrol again when they next sign in."""
    runtime = request.app.state.runtime
    result = activity.reset_second_factors(db, runtime, user_id)
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.ADMIN_MFA_RESET,
        subject_user_id=user_id,
        details={**result["removed"], "sessions_revoked": result["sessions_revoked"]},
    )
    return result
