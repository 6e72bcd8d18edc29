"""The published key set (`/.well-known/jwks.json`) and the administrators' key rotation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.responses import Response

from auth.keys.service import key_states, rotate_signing_keys
from shared.admin_auth import CurrentAdmin
from shared.admin_trail import record_admin_action
from shared.audit import EventType
from shared.db import DbSession
from shared.errors import error_responses
from shared.models import SigningKey
from shared.models.base import utcnow
from shared.signing_keys import DEFAULT_OVERLAP, jwks_document

# Relying parties may keep the set this long; they fetch it again on a kid they do not
# know, and a next key is published long before it signs, so a rotation never waits on it.
JWKS_MAX_AGE_SECONDS = 300

jwks_router = APIRouter(tags=["keys"])
admin_router = APIRouter(
    prefix="/auth/admin/signing-keys", tags=["signing keys"], responses=error_responses(401, 403)
)


@jwks_router.get(
    "/.well-known/jwks.json",
    responses={200: {"description": "The JSON Web Key Set", "content": {"application/json": {}}}},
)
def jwks(db: DbSession) -> Response:
    """The public keys that verify this service's tokens: next, current and previous."""
    document = jwks_document(list(db.scalars(select(SigningKey))))
    return Response(
        orjson.dumps(document),
        media_type="application/json",
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"},
    )


class SigningKeyOut(BaseModel):
    kid: str
    alg: str
    state: str = Field(description="next (published, not signing yet), current or previous")
    created_at: datetime
    activated_at: datetime | None
    verify_until: datetime | None


class RotateIn(BaseModel):
    model_config = {"extra": "forbid"}

    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=7 * 86400,
        description="How long the previous keys keep verifying; by default longer than any "
        "token they signed lives. 0 for keys believed compromised.",
    )


class RotateOut(BaseModel):
    signing_kids: list[str]
    previous_verify_until: datetime
    keys: list[SigningKeyOut]


@admin_router.get("", response_model=list[SigningKeyOut])
def list_signing_keys(db: DbSession, _: CurrentAdmin) -> Any:
    """Every key that still verifies, with its state."""
    return key_states(db)


@admin_router.post("/rotate", response_model=RotateOut, responses=error_responses(422))
def rotate(request: Request, db: DbSession, admin: CurrentAdmin, body: RotateIn) -> Any:
    """Rotate the keys: each next key signs; the current ones verify until the overlap ends."""
    runtime = request.app.state.runtime
    overlap = (
        DEFAULT_OVERLAP if body.overlap_seconds is None else timedelta(seconds=body.overlap_seconds)
    )
    kids = rotate_signing_keys(db, runtime, overlap)
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.SIGNING_KEYS_ROTATED,
        details={"kids": kids, "overlap_seconds": int(overlap.total_seconds())},
    )
    return {
        "signing_kids": kids,
        "previous_verify_until": utcnow() + overlap,
        "keys": key_states(db),
    }
