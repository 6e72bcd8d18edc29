"""One directory user: edit, assign applications, admin/MFA/status switches, delete,
second factors (with a reset), devices and sessions (with revoking)."""

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
    factors = await api.get(f"/auth/admin/users/{user_id}/second-factors")
    assigned = {a["id"] for a in user["applications"]}
    context = {
        "user": user,
        "apps": apps["items"],
        "assigned": assigned,
        "factors": factors,
        "mfa_reasons": _mfa_reasons(request, user, apps["items"], assigned),
        "account_page": f"{request.app.state.runtime.settings.issuer}/account",
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


def _mfa_reasons(
    request: Request, user: dict[str, Any], apps: list[dict[str, Any]], assigned: set[str]
) -> list[str]:
    """Why the user's sign-ins need a second factor, as the console can tell."""
    reasons = ["their MFA flag"] if user.get("mfa_enabled") else []
    if request.app.state.runtime.settings.mfa_required:
        reasons.append("the platform setting")
    reasons += [
        f"the application {a['name']}" for a in apps if a["id"] in assigned and a.get("require_mfa")
    ]
    return reasons


def reset_summary(answer: dict[str, Any]) -> str:
    """The banner after a reset: what went, and how many sessions ended."""
    removed = answer.get("removed") or {}
    parts = ["the authenticator app"] if removed.get("totp") else []
    if passkeys := int(removed.get("passkeys") or 0):
        parts.append(f"{passkeys} passkey{'s' if passkeys != 1 else ''}")
    if removed.get("recovery_codes"):
        parts.append("the recovery codes")
    what = (
        f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else "".join(parts)
    ) or "nothing was set up"
    ended = int(answer.get("sessions_revoked") or 0)
    sessions = f"{ended} session{'s' if ended != 1 else ''} ended"
    return f"Second factors reset: {what}{' removed' if parts else ''}; {sessions}."


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


@router.post("/directory/users/{user_id}/second-factors/reset")
async def reset_second_factors(
    request: Request, api: Api, _: SignedIn, user_id: uuid.UUID
) -> Response:
    """A lost phone: every second factor goes and the user's sessions end (auth audits it)."""
    answer = await api.call("DELETE", f"/auth/admin/users/{user_id}/second-factors")
    session_of(request).notify(reset_summary(answer))
    return redirect(_here(user_id))
