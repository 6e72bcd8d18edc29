"""What every page module uses: its router, the signed-in check, form reading, CSV relays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from console.api import ApiError, ConsoleApi, SignInRequired, make_client
from console.security.csrf import require_csrf
from console.security.session import ConsoleSession

PAGE_SIZE = 50


def page_router() -> APIRouter:
    """Pages live under /setup; every state-changing request there needs the CSRF token."""
    return APIRouter(
        prefix="/setup",
        include_in_schema=False,
        default_response_class=HTMLResponse,
        dependencies=[Depends(require_csrf)],
    )


def signed_in(request: Request) -> ConsoleSession:
    session: ConsoleSession = request.state.console_session
    if not session.signed_in:
        raise SignInRequired()
    return session


SignedIn = Annotated[ConsoleSession, Depends(signed_in)]


async def form_values(request: Request) -> dict[str, str]:
    """The text fields of a posted form, trimmed (files and the CSRF token left out)."""
    form = await request.form()
    return {
        key: value.strip()
        for key, value in form.items()
        if isinstance(value, str) and key != "csrf_token"
    }


def optional(values: dict[str, str], name: str) -> str | None:
    value = values.get(name, "")
    return value or None


def as_int(values: dict[str, str], name: str) -> int | str | None:
    """A number field: the int, or the text as typed (the API then names the error)."""
    value = values.get(name, "")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def checked(values: dict[str, str], name: str) -> bool:
    return values.get(name) in ("on", "true", "1", "yes")


def page_params(request: Request, *names: str) -> dict[str, str]:
    """The non-empty query parameters a list page passes on to its API."""
    return {n: v for n in names if (v := request.query_params.get(n, "").strip())}


def offset_of(request: Request) -> int:
    try:
        return max(0, min(int(request.query_params.get("offset", "0")), 10_000_000))
    except ValueError:
        return 0


def pager(total: int, offset: int, limit: int = PAGE_SIZE) -> dict[str, Any]:
    return {
        "total": total,
        "offset": offset,
        "limit": limit,
        "first": offset + 1 if total else 0,
        "last": min(offset + limit, total),
        "prev": max(0, offset - limit) if offset > 0 else None,
        "next": offset + limit if offset + limit < total else None,
    }


async def relay_csv(
    request: Request, api: ConsoleApi, path: str, params: dict[str, str]
) -> StreamingResponse:
    """Stream a CSV export of a service to the browser without holding it in memory."""
    token = await api.access_token()
    client = make_client(request)
    upstream = await client.send(
        client.build_request(
            "GET", path, params=params, headers={"authorization": f"Bearer {token}"}
        ),
        stream=True,
    )
    if upstream.status_code != 200:
        await upstream.aread()
        await client.aclose()
        raise ApiError.from_response(upstream)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:
            await upstream.aclose()
            await client.aclose()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": upstream.headers.get("content-disposition", "attachment")},
    )
