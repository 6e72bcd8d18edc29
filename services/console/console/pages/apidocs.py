"""API docs: the app-facing endpoints with live OpenAPI examples, the sync contract, the headers."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from console.api import Api
from console.apidocs.catalog import CLIENT_SETUP, admin_endpoints, app_endpoints, load_specs
from console.pages.common import SignedIn, page_router
from console.rendering import render
from shared.sync_contract import MAPPED_FIELDS, compute_sync_hash

router = page_router()

SAMPLE_USER = {
    "name": "Ada Lovelace",
    "mobile_number": "+15551234567",
    "email": "ada@example.com",
    "emp_id": None,
    "status": "active",
}


@router.get("/api-docs")
async def api_docs(request: Request, api: Api, _: SignedIn) -> Response:
    specs = await load_specs(api, request.app.state.openapi_cache)
    context = {
        "endpoints": app_endpoints(specs),
        "other_endpoints": admin_endpoints(specs),
        "mapped_fields": MAPPED_FIELDS,
        "sample_user": SAMPLE_USER,
        # Computed by the same function the directory uses: the example cannot drift either.
        "sample_hash": compute_sync_hash(SAMPLE_USER),
        "issuer": request.app.state.runtime.settings.issuer,
        "base_url": request.app.state.runtime.settings.issuer,
        "client_setup": CLIENT_SETUP.format(base=request.app.state.runtime.settings.issuer),
    }
    return await render(request, "api_docs.html", context, section="api-docs")
