"""Audit log: Event | User | IP | Date | Time (the seed's columns), then Actor (who acted) and
Target (what on), with filters, paging, IP details, CSV, purge."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from console.api import Api, ApiError
from console.pages.common import SignedIn, checked, form_values, page_router, relay_csv
from console.rendering import redirect, render, session_of
from shared.audit import EventType, Outcome

router = page_router()
PAGE_SIZE = 50
# The audit API's actor and target types, as the page names them.
ACTOR_TYPES = {"admin": "administrator", "app": "application", "user": "user", "system": "system"}
TARGET_TYPES = {"user": "user", "application": "application", "api_key": "API key"}


def audit_filters(request: Request) -> dict[str, str]:
    """The page's filters as the audit API takes them; dates are whole UTC days."""
    query = request.query_params
    params: dict[str, str] = {}
    if query.get("type") in {t.value for t in EventType}:
        params["type"] = query["type"]
    if query.get("outcome") in {o.value for o in Outcome}:
        params["outcome"] = query["outcome"]
    if query.get("actor_type") in ACTOR_TYPES:
        params["actor_type"] = query["actor_type"]
    if query.get("target_type") in TARGET_TYPES:
        params["target_type"] = query["target_type"]
    for name in ("ip", "user_id", "application_id", "actor"):
        if value := query.get(name, "").strip():
            params[name] = value
    for name, shift in (("from", 0), ("to", 1)):  # `to` is exclusive in the API
        try:
            day = date.fromisoformat(query.get(name, ""))
        except ValueError:
            continue
        params[name] = f"{(day + timedelta(days=shift)).isoformat()}T00:00:00"
    return params


async def audit_page(
    request: Request,
    api: Api,
    *,
    error: ApiError | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    params = audit_filters(request)
    cursor = request.query_params.get("cursor", "")
    api_params = {**params, "limit": str(PAGE_SIZE), **({"cursor": cursor} if cursor else {})}
    try:
        events = await api.get("/audit/events", params=api_params)
    except ApiError as exc:
        if exc.status != 422:
            raise
        events = {"items": [], "next_cursor": None}
        error, form = error or exc, form or "filters"
    shown = {k: v for k, v in request.query_params.items() if k not in ("cursor",)}
    context = {
        "events": events["items"],
        "next_cursor": events["next_cursor"],
        "cursor": cursor,
        "filters": shown,
        "export_query": request.url.query,
        "event_types": [t.value for t in EventType],
        "outcomes": [o.value for o in Outcome],
        "actor_types": ACTOR_TYPES,
        "target_types": TARGET_TYPES,
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": values or {},
    }
    status = error.status if error else 200
    return await render(request, "audit.html", context, section="audit", status_code=status)


@router.get("/audit")
async def audit_log(request: Request, api: Api, _: SignedIn) -> Response:
    return await audit_page(request, api)


@router.get("/audit/export.csv")
async def export_audit(request: Request, api: Api, _: SignedIn) -> StreamingResponse:
    return await relay_csv(request, api, "/audit/events.csv", audit_filters(request))


@router.post("/audit/purge")
async def purge_audit(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    if not checked(values, "confirm"):
        error = ApiError(422, "confirmation_required", "Tick the box to confirm the purge.")
        error.fields["confirm"] = error.message
        return await audit_page(request, api, error=error, form="purge", values=values)
    text = values.get("older_than_days", "")
    days: int | str = int(text) if text.isdigit() else text
    try:
        answer = await api.post("/audit/purge", json={"older_than_days": days})
    except ApiError as exc:
        return await audit_page(request, api, error=exc, form="purge", values=values)
    scope = "all audit history" if days == 0 else f"events older than {days} days"
    session_of(request).notify(f"Purged {answer['deleted']} events ({scope}).")
    return redirect("/setup/audit")
