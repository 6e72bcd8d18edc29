"""One directory user: edit, assign applications, admin/MFA/status switches, delete,
devices and sessions (with revoking)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from console.api import Api, ApiError
from console.pages.common import SignedIn, form_values, optional, page_router
from console.rendering import redirect, render, session_of

router = page_router()
SWITCHES = {"is_admin", "mfa_enabled", "status"}


async def user_page(
    request: Request,
    api: Api,
    user_id: uuid.UUID,
    *,
    error: ApiError | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    user = await api.get(f"/directory/users/{user_id}")
    apps = await api.get("/directory/applications", params={"limit": 500})
    sessions = await api.get(f"/auth/admin/users/{user_id}/sessions")
    devices = await api.get(f"/auth/admin/users/{user_id}/devices")
    context = {
        "user": user,
        "apps": apps["items"],
        "assigned": {a["id"] for a in user["applications"]},
        "sessions": sessions["items"],
        "devices": devices["items"],
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": values
        or {k: user.get(k) or "" for k in ("name", "email", "mobile_number", "emp_id")},
    }
    status = error.status if error else 200
    return await render(request, "user.html", context, section="directory", status_code=status)


def _here(user_id: uuid.UUID) -> str:
    return f"/setup/directory/users/{user_id}"


@router.get("/directory/users/{user_id}")
async def show_user(request: Request, api: Api, _: SignedIn, user_id: uuid.UUID) -> Response:
    return await user_page(request, api, user_id)


@router.post("/directory/users/{user_id}")
async def edit_user(request: Request, api: Api, _: SignedIn, user_id: uuid.UUID) -> Response:
    values = await form_values(request)
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "email": optional(values, "email"),
        "mobile_number": optional(values, "mobile_number"),
        "emp_id": optional(values, "emp_id"),
    }
    if values.get("password"):
        body["password"] = values["password"]
    try:
        await api.call("PATCH", f"/directory/users/{user_id}", json=body)
    except ApiError as exc:
        values.pop("password", None)
        return await user_page(request, api, user_id, error=exc, form="edit", values=values)
    session_of(request).notify("User saved.")
    return redirect(_here(user_id))


@router.post("/directory/users/{user_id}/applications")
async def assign_applications(
    request: Request, api: Api, _: SignedIn, user_id: uuid.UUID
) -> Response:
    form = await request.form()
    ids = [v for v in form.getlist("application_ids") if isinstance(v, str)]
    try:
        await api.call(
            "PUT", f"/directory/users/{user_id}/applications", json={"application_ids": ids}
        )
    except ApiError as exc:
        return await user_page(request, api, user_id, error=exc, form="assign")
    session_of(request).notify("Applications assigned.")
    return redirect(_here(user_id))


@router.post("/directory/users/{user_id}/switch")
async def switch(request: Request, api: Api, _: SignedIn, user_id: uuid.UUID) -> Response:
    """One of the user's switches: administrator, MFA, or active/disabled."""
    values = await form_values(request)
    field = values.get("field", "")
    if field not in SWITCHES:
        return redirect(_here(user_id))
    value: Any = values.get("value") == "true"
    if field == "status":
        value = "active" if values.get("value") == "active" else "disabled"
    try:
        user = await api.call("PATCH", f"/directory/users/{user_id}", json={field: value})
    except ApiError as exc:
        return await user_page(request, api, user_id, error=exc, form="switch")
    session_of(request).notify(f"User {user['name']} updated.")
    back = "/setup/directory" if values.get("back") == "/setup/directory" else _here(user_id)
    return redirect(back)


@router.post("/directory/users/{user_id}/delete")
async def delete_user(request: Request, api: Api, _: SignedIn, user_id: uuid.UUID) -> Response:
    await api.call("DELETE", f"/directory/users/{user_id}")
    session_of(request).notify("User deleted; their sessions have ended.")
    return redirect("/setup/directory")


@router.post("/directory/users/{user_id}/sessions/revoke")
async def revoke_all_sessions(
    request: Request, api: Api, _: SignedIn, user_id: uuid.UUID
) -> Response:
    answer = await api.call("DELETE", f"/auth/admin/users/{user_id}/sessions")
    session_of(request).notify(f"{answer['revoked']} session(s) revoked.")
    return redirect(_here(user_id))


@router.post("/directory/users/{user_id}/sessions/{session_id}/revoke")
async def revoke_session(
    request: Request, api: Api, _: SignedIn, user_id: uuid.UUID, session_id: uuid.UUID
) -> Response:
    await api.call("DELETE", f"/auth/admin/sessions/{session_id}")
    session_of(request).notify("Session revoked.")
    return redirect(_here(user_id))
