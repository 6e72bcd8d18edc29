"""Directory: the user table (search, filters, paging), Create user, Import users, export."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from console.api import Api, ApiError
from console.pages.common import (
    PAGE_SIZE,
    SignedIn,
    checked,
    form_values,
    offset_of,
    optional,
    page_params,
    page_router,
    pager,
    relay_csv,
)
from console.rendering import redirect, render, session_of

router = page_router()
FILTERS = ("q", "status", "application_id", "is_admin")


async def directory_page(
    request: Request,
    api: Api,
    *,
    error: ApiError | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
    import_result: dict[str, Any] | None = None,
    import_errors: list[dict[str, Any]] | None = None,
) -> Response:
    offset = offset_of(request)
    filters = page_params(request, *FILTERS)
    users = await api.get(
        "/directory/users", params={**filters, "offset": offset, "limit": PAGE_SIZE}
    )
    apps = await api.get("/directory/applications", params={"limit": 500})
    activity: dict[str, Any] = {}
    ids = [u["auth_user_id"] for u in users["items"]]
    if ids:
        answer = await api.get("/auth/admin/activity", params=[("user_id", i) for i in ids])
        activity = answer["counts"]
    context = {
        "users": users["items"],
        "page": pager(users["total"], offset),
        "filters": filters,
        "apps": apps["items"],
        "activity": activity,
        "import_result": import_result,
        "import_errors": import_errors,
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": values or {},
    }
    status = error.status if error else 200
    return await render(request, "directory.html", context, section="directory", status_code=status)


@router.get("/directory")
async def list_users(request: Request, api: Api, _: SignedIn) -> Response:
    return await directory_page(request, api)


@router.post("/directory/users")
async def create_user(request: Request, api: Api, _: SignedIn) -> Response:
    form = await request.form()
    values = await form_values(request)
    body = {
        "name": values.get("name", ""),
        "email": optional(values, "email"),
        "mobile_number": optional(values, "mobile_number"),
        "emp_id": optional(values, "emp_id"),
        "password": optional(values, "password"),
        "is_admin": checked(values, "is_admin"),
        "mfa_enabled": checked(values, "mfa_enabled"),
        "application_ids": [v for v in form.getlist("application_ids") if isinstance(v, str)],
    }
    try:
        user = await api.post("/directory/users", json=body)
    except ApiError as exc:
        values.pop("password", None)
        return await directory_page(request, api, error=exc, form="create", values=values)
    session_of(request).notify(f"User {user['name']} created.")
    return redirect("/setup/directory")


@router.post("/directory/import")
async def import_users(request: Request, api: Api, _: SignedIn) -> Response:
    form = await request.form()
    upload = form.get("file")
    dry_run = form.get("action") != "import"
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = ApiError(422, "validation_error", "Choose a CSV file to import.")
        error.fields["file"] = error.message
        return await directory_page(request, api, error=error, form="import")
    files = {"file": (upload.filename, upload.file, "text/csv")}
    params = {"dry_run": "true" if dry_run else "false"}
    try:
        result = await api.post("/directory/users/import", params=params, files=files)
    except ApiError as exc:
        errors = exc.extra.get("errors") if isinstance(exc.extra.get("errors"), list) else None
        return await directory_page(request, api, error=exc, form="import", import_errors=errors)
    if dry_run:
        return await directory_page(request, api, import_result=result)
    session_of(request).notify(
        f"Import done: {result['created']} created, {result['updated']} updated, "
        f"{result['unchanged']} unchanged."
    )
    return redirect("/setup/directory")


@router.get("/directory/export.csv")
async def export_users(request: Request, api: Api, _: SignedIn) -> StreamingResponse:
    return await relay_csv(
        request, api, "/directory/users/export.csv", page_params(request, *FILTERS)
    )
