"""Directory: the user table (search, filters, paging), Create user, Import users, export."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from console.api import Api, ApiError
from console.kept_uploads import KEEP_SECONDS, KeptUpload, UploadKeeper
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
    import_rows: list[dict[str, Any]] | None = None,
    kept: KeptUpload | None = None,
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
        "import_rows": import_rows
        if import_rows is not None
        else (import_result or {}).get("rows"),
        "kept": kept,
        "keep_minutes": KEEP_SECONDS // 60,
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


FILE_EXPIRED = (
    "The previewed file is no longer kept (it is kept for 15 minutes, in this sign-in "
    "only). Choose it again."
)


async def _chosen_file(request: Request, form: Any) -> tuple[str, bytes] | ApiError:
    """The file chosen now, else the one kept from the preview whose token the form posts."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        return upload.filename, await upload.read()
    token = form.get("upload_token")
    message = "Choose a CSV file to import."
    if isinstance(token, str) and token:
        keeper: UploadKeeper = request.app.state.upload_keeper
        kept = await run_in_threadpool(keeper.take, session_of(request), token)
        if kept is not None:
            return kept.filename, kept.content
        message = FILE_EXPIRED
    error = ApiError(422, "validation_error", message)
    error.fields["file"] = message
    return error


@router.post("/directory/import")
async def import_users(request: Request, api: Api, _: SignedIn) -> Response:
    form = await request.form()
    dry_run = form.get("action") != "import"
    chosen = await _chosen_file(request, form)
    if isinstance(chosen, ApiError):
        return await directory_page(request, api, error=chosen, form="import")
    filename, content = chosen
    files = {"file": (filename, content, "text/csv")}
    params = {"dry_run": "true" if dry_run else "false"}
    try:
        result = await api.post("/directory/users/import", params=params, files=files)
    except ApiError as exc:
        found = {k: exc.extra.get(k) for k in ("errors", "rows")}
        lists = {k: v if isinstance(v, list) else None for k, v in found.items()}
        return await directory_page(
            request,
            api,
            error=exc,
            form="import",
            import_errors=lists["errors"],
            import_rows=lists["rows"],
        )
    keeper: UploadKeeper = request.app.state.upload_keeper
    token = form.get("upload_token")
    if dry_run:
        kept = await run_in_threadpool(keeper.keep, session_of(request), filename, content)
        if isinstance(token, str) and token:
            await run_in_threadpool(keeper.forget, token)  # replaced by the new one
        return await directory_page(request, api, import_result=result, kept=kept)
    if isinstance(token, str) and token:
        await run_in_threadpool(keeper.forget, token)
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
