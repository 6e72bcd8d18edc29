"""Service setup: Checking (live health), Deployment (runtime and platform settings), Branding."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from console import checks
from console.api import Api, ApiError
from console.pages.common import SignedIn, as_int, checked, form_values, page_router
from console.pages.signin import sign_in_page
from console.platform.logo import MAX_BYTES
from console.rendering import redirect, render, session_of
from shared.runtime import Runtime

router = page_router()

# The path prefixes Traefik routes to each service (traefik/README.md, docker-compose.yml).
ROUTES = (
    ("/auth/*, /.well-known/*", "auth"),
    ("/users/*, /directory/*", "directory"),
    ("/otp/*", "otp-delivery"),
    ("/audit/*", "audit"),
    ("/setup, /console/*", "console"),
)
PLATFORM_NUMBERS = (
    "access_token_ttl_seconds",
    "refresh_token_ttl_seconds",
    "signing_key_rotation_days",
    "otp_length",
    "otp_ttl_seconds",
    "otp_verify_max_attempts",
    "otp_resend_cooldown_seconds",
    "otp_hourly_cap_per_login",
)
PLATFORM_SWITCHES = ("otp_sms_enabled", "otp_email_enabled", "dev_codes")


async def service_page(
    request: Request,
    api: Api,
    *,
    error: ApiError | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    platform, signing_keys, services, infrastructure = await asyncio.gather(
        api.get("/console/api/platform"),
        api.get("/auth/admin/signing-keys"),
        checks.service_checks(api),
        run_in_threadpool(checks.infrastructure_checks, runtime),
    )
    target = request.app.state.api_target
    context: dict[str, Any] = {
        "platform": platform,
        "signing_keys": signing_keys,
        "checks": [*services, *infrastructure],
        "versions": checks.versions(runtime, infrastructure),
        "routes": ROUTES,
        "settings": runtime.settings,
        "api_target": target if isinstance(target, str) else "in-process (embedded)",
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": values or {},
    }
    status = error.status if error else 200
    return await render(request, "service.html", context, section="service", status_code=status)


@router.get("")
async def home(request: Request, api: Api) -> Response:
    if not session_of(request).signed_in:
        return await sign_in_page(request)
    return await service_page(request, api)


@router.post("/platform")
async def save_platform(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    body: dict[str, Any] = {"public_hostname": values.get("public_hostname") or None}
    for name in PLATFORM_NUMBERS:
        body[name] = as_int(values, name)
    for name in PLATFORM_SWITCHES:
        body[name] = checked(values, name)
    try:
        await api.call("PUT", "/console/api/platform", json=body)
    except ApiError as exc:
        return await service_page(request, api, error=exc, form="platform", values=values)
    session_of(request).notify("Platform settings saved.")
    return redirect("/setup#deployment")


@router.post("/platform/rotate-secret")
async def rotate_secret(request: Request, api: Api, _: SignedIn) -> Response:
    try:
        answer = await api.post("/console/api/platform/rotate-secret", json={})
    except ApiError as exc:
        return await service_page(request, api, error=exc, form="rotate")
    session_of(request).notify(
        f"Signing keys rotated (now signing: {', '.join(answer['signing_kids'])}). Tokens "
        f"signed with the previous keys stay valid until {answer['previous_verify_until']}."
    )
    return redirect("/setup#deployment")


@router.post("/branding")
async def save_branding(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    branding = {"name": values.get("name", ""), "colour": values.get("colour", "")}
    try:
        await api.call("PUT", "/console/api/platform", json={"branding": branding})
    except ApiError as exc:
        return await service_page(request, api, error=exc, form="branding", values=values)
    session_of(request).notify("Branding saved.")
    return redirect("/setup#branding")


@router.post("/branding/logo")
async def upload_logo(request: Request, api: Api, _: SignedIn) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = ApiError(422, "validation_error", "Choose an image file to upload.")
        error.fields["file"] = error.message
        return await service_page(request, api, error=error, form="logo")
    content = await upload.read(MAX_BYTES + 1)  # anything longer is refused by size anyway
    files = {"file": (upload.filename, content, upload.content_type or "application/octet-stream")}
    try:
        await api.post("/console/api/platform/logo", files=files)
    except ApiError as exc:
        return await service_page(request, api, error=exc, form="logo")
    session_of(request).notify("Logo uploaded.")
    return redirect("/setup#branding")


@router.post("/branding/logo/remove")
async def remove_logo(request: Request, api: Api, _: SignedIn) -> Response:
    await api.call("DELETE", "/console/api/platform/logo")
    session_of(request).notify("Logo removed.")
    return redirect("/setup#branding")
