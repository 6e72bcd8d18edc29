"""System documentation: the operator guide, with this system's real commands."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from console.pages.common import SignedIn, page_router
from console.rendering import render

router = page_router()


@router.get("/docs")
async def system_documentation(request: Request, _: SignedIn) -> Response:
    settings = request.app.state.runtime.settings
    context = {"hostname": settings.public_hostname, "issuer": settings.issuer}
    return await render(request, "docs.html", context, section="docs")
