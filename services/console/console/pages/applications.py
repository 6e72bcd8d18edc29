"""Applications: register them with an IP allow-list, edit, disable, delete; API auth keys."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from console.api import Api, ApiError
from console.pages.common import (
    PAGE_SIZE,
    SignedIn,
    checked,
    form_values,
    offset_of,
    page_router,
    pager,
)
from console.rendering import redirect, render, session_of

router = page_router()


def split_networks(text: str) -> list[str]:
    """Allowed IPs as typed: one per line, or separated by commas or spaces."""
    return [part for part in re.split(r"[\s,;]+", text) if part]


def split_uris(text: str) -> list[str]:
    """Redirect URIs as typed: one per line (or separated by spaces)."""
    return [part for part in text.split() if part]


async def applications_page(
    request: Request,
    api: Api,
    *,
    error: ApiError | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
    new_key: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    offset = offset_of(request)
    key_offset = _int(request.query_params.get("key_offset"))
    query = request.query_params.get("q", "").strip()
    params: dict[str, Any] = {"offset": offset, "limit": PAGE_SIZE}
    if query:
        params["q"] = query
    apps = await api.get("/directory/applications", params=params)
    keys = await api.get("/directory/keys", params={"offset": key_offset, "limit": PAGE_SIZE})
    choices = await api.get("/directory/applications", params={"limit": 500})
    context = {
        "apps": apps["items"],
        "apps_page": pager(apps["total"], offset),
        "keys": keys["items"],
        "keys_page": pager(keys["total"], key_offset),
        "choices": choices["items"],
        "q": query,
        "new_key": new_key,
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": values or {},
    }
    status = error.status if error else status_code
    return await render(
        request, "applications.html", context, section="applications", status_code=status
    )


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


@router.get("/applications")
async def list_applications(request: Request, api: Api, _: SignedIn) -> Response:
    return await applications_page(request, api)


@router.post("/applications")
async def register_application(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    body = {
        "name": values.get("name", ""),
        "allowed_ips": split_networks(values.get("allowed_ips", "")),
        "require_mfa": checked(values, "require_mfa"),
    }
    try:
        app = await api.post("/directory/applications", json=body)
    except ApiError as exc:
        return await applications_page(request, api, error=exc, form="register", values=values)
    session_of(request).notify(f"Application {app['name']} registered.")
    return redirect("/setup/applications")


@router.get("/applications/{application_id}")
async def edit_application_page(
    request: Request, api: Api, _: SignedIn, application_id: uuid.UUID
) -> Response:
    return await _edit_page(request, api, application_id)


async def _edit_page(
    request: Request,
    api: Api,
    application_id: uuid.UUID,
    error: ApiError | None = None,
    values: dict[str, str] | None = None,
    *,
    form: str = "application",
    new_secret: str | None = None,
    status_code: int = 200,
) -> Response:
    app = await api.get(f"/directory/applications/{application_id}")
    keys = await api.get(f"/directory/applications/{application_id}/keys")
    oidc = await api.get(f"/auth/admin/oidc/clients/{application_id}")
    shown = {
        "name": app["name"],
        "allowed_ips": "\n".join(app["allowed_ips"]),
        "client_type": oidc["client_type"],
        "redirect_uris": "\n".join(oidc["redirect_uris"]),
        "post_logout_redirect_uris": "\n".join(oidc["post_logout_redirect_uris"]),
        "token_signing_alg": oidc["token_signing_alg"],
        "require_mfa": "on" if app["require_mfa"] else "",
    }
    context = {
        "app": app,
        "keys": keys,
        "oidc": oidc,
        "issuer": request.app.state.runtime.settings.issuer,
        "new_secret": new_secret,
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": {**shown, **(values or {})},
    }
    return await render(
        request,
        "application_edit.html",
        context,
        section="applications",
        status_code=error.status if error else status_code,
    )


@router.post("/applications/{application_id}")
async def update_application(
    request: Request, api: Api, _: SignedIn, application_id: uuid.UUID
) -> Response:
    values = await form_values(request)
    body = {
        "name": values.get("name", ""),
        "allowed_ips": split_networks(values.get("allowed_ips", "")),
        "require_mfa": checked(values, "require_mfa"),
    }
    try:
        app = await api.call("PATCH", f"/directory/applications/{application_id}", json=body)
    except ApiError as exc:
        # An unticked box is not posted: show it as the administrator left it.
        values.setdefault("require_mfa", "")
        return await _edit_page(request, api, application_id, exc, values)
    session_of(request).notify(f"Application {app['name']} saved.")
    return redirect("/setup/applications")


def _oidc_field_errors(error: ApiError) -> ApiError:
    """The auth API names fields by their JSON path (`redirect_uris.0`): name the form's."""
    for field in list(error.fields):
        error.fields.setdefault(field.split(".", 1)[0], error.fields[field])
    return error


@router.post("/applications/{application_id}/oidc")
async def save_oidc_settings(
    request: Request, api: Api, _: SignedIn, application_id: uuid.UUID
) -> Response:
    values = await form_values(request)
    body = {
        "client_type": values.get("client_type") or "confidential",
        "redirect_uris": split_uris(values.get("redirect_uris", "")),
        "post_logout_redirect_uris": split_uris(values.get("post_logout_redirect_uris", "")),
        "token_signing_alg": values.get("token_signing_alg") or "RS256",
    }
    try:
        saved = await api.call("PUT", f"/auth/admin/oidc/clients/{application_id}", json=body)
    except ApiError as exc:
        return await _edit_page(
            request, api, application_id, _oidc_field_errors(exc), values, form="oidc"
        )
    if saved.get("client_secret"):
        # Rendered, not redirected: the secret is shown once and never stored here.
        return await _edit_page(
            request, api, application_id, new_secret=saved["client_secret"], status_code=201
        )
    session_of(request).notify("OpenID Connect settings saved.")
    return redirect(f"/setup/applications/{application_id}")


@router.post("/applications/{application_id}/oidc/secret")
async def rotate_oidc_secret(
    request: Request, api: Api, _: SignedIn, application_id: uuid.UUID
) -> Response:
    try:
        rotated = await api.post(f"/auth/admin/oidc/clients/{application_id}/secret")
    except ApiError as exc:
        return await _edit_page(request, api, application_id, exc, form="oidc")
    return await _edit_page(
        request, api, application_id, new_secret=rotated["client_secret"], status_code=201
    )


@router.post("/applications/{application_id}/oidc/delete")
async def turn_oidc_off(
    request: Request, api: Api, _: SignedIn, application_id: uuid.UUID
) -> Response:
    await api.call("DELETE", f"/auth/admin/oidc/clients/{application_id}")
    session_of(request).notify("OpenID Connect turned off for this application.")
    return redirect(f"/setup/applications/{application_id}")


@router.post("/applications/{application_id}/status")
async def set_application_status(
    request: Request, api: Api, _: SignedIn, application_id: uuid.UUID
) -> Response:
    values = await form_values(request)
    status = "disabled" if values.get("status") == "disabled" else "active"
    app = await api.call(
        "PATCH", f"/directory/applications/{application_id}", json={"status": status}
    )
    word = "disabled" if status == "disabled" else "enabled"
    session_of(request).notify(f"Application {app['name']} {word}.")
    return redirect("/setup/applications")


@router.post("/applications/{application_id}/delete")
async def delete_application(
    request: Request, api: Api, _: SignedIn, application_id: uuid.UUID
) -> Response:
    # The confirmation says so: its keys and assignments go with it.
    await api.call("DELETE", f"/directory/applications/{application_id}", params={"force": "true"})
    session_of(request).notify("Application deleted, with its API keys and assignments.")
    return redirect("/setup/applications")


@router.post("/keys")
async def request_key(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    try:
        application_id = uuid.UUID(values.get("application_id", ""))
    except ValueError:
        error = ApiError(422, "validation_error", "Choose an application.")
        error.fields["application_id"] = error.message
        return await applications_page(request, api, error=error, form="key", values=values)
    try:
        key = await api.post(f"/directory/applications/{application_id}/keys")
    except ApiError as exc:
        return await applications_page(request, api, error=exc, form="key", values=values)
    # Rendered, not redirected: the key is shown once and never stored by the console.
    return await applications_page(request, api, new_key=key, status_code=201)


@router.post("/keys/{key_id}/delete")
async def delete_key(request: Request, api: Api, _: SignedIn, key_id: uuid.UUID) -> Response:
    await api.call("DELETE", f"/directory/keys/{key_id}")
    session_of(request).notify("API auth key deleted. Calls with it now fail.")
    return redirect("/setup/applications")
