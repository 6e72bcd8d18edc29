"""Console access: the administrator accounts, and how each can sign in."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from console.api import Api
from console.pages.common import PAGE_SIZE, SignedIn, offset_of, page_router, pager
from console.rendering import render

router = page_router()


@router.get("/access")
async def console_access(request: Request, api: Api, _: SignedIn) -> Response:
    offset = offset_of(request)
    admins = await api.get(
        "/directory/users", params={"is_admin": "true", "offset": offset, "limit": PAGE_SIZE}
    )
    activity: dict[str, Any] = {}
    if ids := [u["auth_user_id"] for u in admins["items"]]:
        answer = await api.get("/auth/admin/activity", params=[("user_id", i) for i in ids])
        activity = answer["counts"]  # their second factors, for the MFA column
    context = {
        "admins": admins["items"],
        "page": pager(admins["total"], offset),
        "activity": activity,
    }
    return await render(request, "access.html", context, section="access")
