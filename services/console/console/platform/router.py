"""`/console/api/platform`: platform settings and branding, for the console and for scripts."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, File, Request, UploadFile

from console.api import ApiError, make_client
from console.platform import logo, service
from console.platform.schemas import PlatformOut, PlatformUpdate, RotateSecretIn, RotateSecretOut
from shared.admin_auth import CurrentAdmin
from shared.after_commit import defer
from shared.db import DbSession
from shared.errors import ServiceError, ServiceUnavailable, error_responses

router = APIRouter(
    prefix="/console/api", tags=["platform settings"], responses=error_responses(401, 403, 422)
)


@router.get("/platform", response_model=PlatformOut)
def get_platform(request: Request, db: DbSession, _: CurrentAdmin) -> PlatformOut:
    """Show the platform settings: hostname, token lifetimes, OTP policy, dev codes, branding."""
    return service.current(db, request.app.state.runtime.settings)


@router.put("/platform", response_model=PlatformOut)
def put_platform(
    request: Request, db: DbSession, admin: CurrentAdmin, body: PlatformUpdate
) -> PlatformOut:
    """Change platform settings; only the fields given change."""
    return service.update(db, request.app.state.runtime, admin, body)


@router.post("/platform/logo", response_model=PlatformOut, responses=error_responses(413))
def upload_logo(
    request: Request,
    db: DbSession,
    admin: CurrentAdmin,
    file: Annotated[UploadFile, File(description="PNG, JPEG or WebP, at most 2 MiB")],
) -> PlatformOut:
    """Upload the branding logo (checked by content, re-encoded as PNG; SVG is refused)."""
    runtime = request.app.state.runtime
    data_dir = runtime.settings.data_dir
    image = logo.process_logo(file.file.read(logo.MAX_BYTES + 1))
    name = logo.store_logo(data_dir, image)
    meta = {"width": image.width, "height": image.height, "source_format": image.source_format}
    previous = service.set_logo(db, runtime, admin, name, meta)
    defer(db, lambda: logo.remove_logo_file(data_dir, previous))
    return service.current(db, runtime.settings)


@router.delete("/platform/logo", response_model=PlatformOut)
def delete_logo(request: Request, db: DbSession, admin: CurrentAdmin) -> PlatformOut:
    """Remove the branding logo."""
    runtime = request.app.state.runtime
    previous = service.set_logo(db, runtime, admin, None)
    defer(db, lambda: logo.remove_logo_file(runtime.settings.data_dir, previous))
    return service.current(db, runtime.settings)


@router.post(
    "/platform/rotate-secret", response_model=RotateSecretOut, responses=error_responses(503)
)
async def rotate_secret(request: Request, _: CurrentAdmin, body: RotateSecretIn) -> Any:
    """Rotate the token signing keys (the auth service does it; old tokens verify a while)."""
    # The signing keys are the auth service's table: ask it, as this administrator.
    try:
        async with make_client(request) as client:
            response = await client.post(
                "/auth/admin/signing-keys/rotate",
                json=body.model_dump(exclude_none=True),
                headers={"authorization": request.headers.get("authorization", "")},
            )
    except httpx.TransportError as exc:
        raise ServiceUnavailable("The auth service did not answer; try again shortly.") from exc
    if response.status_code != 200:
        error = ApiError.from_response(response)
        raise ServiceError(error.message, code=error.code, status_code=error.status)
    return response.json()
