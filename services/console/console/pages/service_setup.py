"""Service setup, a page each: Checking (live health), Deployment (runtime values), Platform
and token secret (settings, signing keys), Branding (name, colour, logo)."""

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
    ("/auth/*, /.well-known/*, /account", "auth"),
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
PLATFORM_SWITCHES = (
    "otp_sms_enabled",
    "otp_email_enabled",
    "dev_codes",
    "mfa_required",
    "mfa_otp_counts",
)


# What each page of Service setup loads besides the page itself.
LOADERS: dict[str, tuple[str, ...]] = {
    "checking": ("checks",),
    "deployment": ("platform", "versions"),
    "platform": ("platform", "signing_keys"),
    "branding": ("platform",),
}


async def _checks(request: Request, api: Api) -> list[checks.Check]:
    runtime: Runtime = request.app.state.runtime
    services, infrastructure = await asyncio.gather(
        checks.service_checks(api), run_in_threadpool(checks.infrastructure_checks, runtime)
    )
    return [*services, *infrastructure]


async def _versions(request: Request, api: Api) -> list[tuple[str, str]]:
    runtime: Runtime = request.app.state.runtime
    found = await asyncio.gather(
        run_in_threadpool(checks.database_check, runtime),
        run_in_threadpool(checks.redis_check, runtime),
    )
    return checks.versions(list(found))


async def service_page(
    request: Request,
    api: Api,
    page: str,
    *,
    error: ApiError | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    loaders = {
        "checks": lambda: _checks(request, api),
        "versions": lambda: _versions(request, api),
        "platform": lambda: api.get("/console/api/platform"),
        "signing_keys": lambda: api.get("/auth/admin/signing-keys"),
    }
    names = LOADERS[page]
    loaded = await asyncio.gather(*(loaders[name]() for name in names))
    target = request.app.state.api_target
    context: dict[str, Any] = {
        **dict(zip(names, loaded, strict=True)),
        "routes": ROUTES,
        "settings": runtime.settings,
        "api_target": target if isinstance(target, str) else "in-process (embedded)",
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": values or {},
    }
    status = error.status if error else 200
    return await render(
        request,
        f"service_{page}.html",
        context,
        section="service",
        subpage=page,
        status_code=status,
    )


async def session_store_down_page(request: Request, exc: Exception) -> Response:
    """Every page while Redis, where sign-in sessions live, is away: the Checking rows that
    need no sign-in, naming the cause. Nothing about addresses: anyone may see this page."""
    runtime: Runtime = request.app.state.runtime
    database = await run_in_threadpool(checks.database_check, runtime)
    rows = [
        checks.Check("Redis", "down", checks.public_cause(exc), checks.SESSIONS_NEED_REDIS),
        checks.Check(database.name, database.state, database.state, database.advice),
    ]
    return await render(request, "service_unavailable.html", {"checks": rows}, status_code=503)


@router.get("")
async def home(request: Request, api: Api) -> Response:
    if not session_of(request).signed_in:
        return await sign_in_page(request)
    return await service_page(request, api, "checking")


@router.get("/service/deployment")
async def deployment(request: Request, api: Api, _: SignedIn) -> Response:
    return await service_page(request, api, "deployment")


@router.get("/service/platform")
async def platform_page(request: Request, api: Api, _: SignedIn) -> Response:
    return await service_page(request, api, "platform")


@router.get("/service/branding")
async def branding(request: Request, api: Api, _: SignedIn) -> Response:
    return await service_page(request, api, "branding")


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
        return await service_page(
            request, api, "platform", error=exc, form="platform", values=values
        )
    session_of(request).notify("Platform settings saved.")
    return redirect("/setup/service/platform")


@router.post("/platform/rotate-secret")
async def rotate_secret(request: Request, api: Api, _: SignedIn) -> Response:
    try:
        answer = await api.post("/console/api/platform/rotate-secret", json={})
    except ApiError as exc:
        return await service_page(request, api, "platform", error=exc, form="rotate")
    session_of(request).notify(
        f"Signing keys rotated (now signing: {', '.join(answer['signing_kids'])}). Tokens "
        f"signed with the previous keys stay valid until {answer['previous_verify_until']}."
    )
    return redirect("/setup/service/platform")


@router.post("/branding")
async def save_branding(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    branding = {"name": values.get("name", ""), "colour": values.get("colour", "")}
    try:
        await api.call("PUT", "/console/api/platform", json={"branding": branding})
    except ApiError as exc:
        return await service_page(
            request, api, "branding", error=exc, form="branding", values=values
        )
    session_of(request).notify("Branding saved.")
    return redirect("/setup/service/branding")


@router.post("/branding/logo")
async def upload_logo(request: Request, api: Api, _: SignedIn) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = ApiError(422, "validation_error", "Choose an image file to upload.")
        error.fields["file"] = error.message
        return await service_page(request, api, "branding", error=error, form="logo")
    content = await upload.read(MAX_BYTES + 1)  # anything longer is refused by size anyway
    files = {"file": (upload.filename, content, upload.content_type or "application/octet-stream")}
    try:
        await api.post("/console/api/platform/logo", files=files)
    except ApiError as exc:
        return await service_page(request, api, "branding", error=exc, form="logo")
    session_of(request).notify("Logo uploaded.")
    return redirect("/setup/service/branding")


@router.post("/branding/logo/remove")
async def remove_logo(request: Request, api: Api, _: SignedIn) -> Response:
    await api.call("DELETE", "/console/api/platform/logo")
    session_of(request).notify("Logo removed.")
    return redirect("/setup/service/branding")
