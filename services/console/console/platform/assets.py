"""The branding as the browser loads it: the logo file and a stylesheet with the colour.

Public (the sign-in page shows them) and CSP-friendly: the colour comes as
a stylesheet from our origin, never as an inline style.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from console.platform import service
from console.platform.logo import logo_path
from shared.errors import NotFound
from shared.invalidation import Topic
from shared.platform import branding_of
from shared.runtime import Runtime

router = APIRouter(prefix="/console", include_in_schema=False)

CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Branding:
    name: str
    colour: str
    logo: str | None
    logo_url: str | None


class BrandingCache:
    """Branding for every page, cached briefly and dropped when platform settings change."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._value: Branding | None = None
        self._loaded_at = 0.0
        runtime.bus.subscribe(Topic.PLATFORM, self.reset)

    def reset(self) -> None:
        self._loaded_at = 0.0

    def current(self) -> Branding:
        if self._value is not None and time.monotonic() - self._loaded_at < CACHE_SECONDS:
            return self._value
        try:
            with self._runtime.session_factory() as session:
                branding = branding_of(service.stored_rows(session))
        except Exception:  # the database is away: pages still render, plainly branded
            branding = branding_of({})
        out = service.branding_out(branding)
        self._value = Branding(out.name, out.colour, branding.get("logo"), out.logo_url)
        self._loaded_at = time.monotonic()
        return self._value


@router.get("/branding/logo")
def branding_logo(request: Request, v: str | None = Query(default=None, max_length=80)) -> Response:
    branding: Branding = request.app.state.branding.current()
    path = logo_path(request.app.state.runtime.settings.data_dir, branding.logo or "")
    if path is None:
        raise NotFound("No logo has been uploaded.")
    return FileResponse(
        path, media_type="image/png", headers={"cache-control": "public, max-age=300"}
    )


@router.get("/branding.css")
def branding_css(request: Request) -> Response:
    branding: Branding = request.app.state.branding.current()
    # The colour was checked against #rrggbb when it was saved.
    css = f":root {{ --brand: {branding.colour}; }}\n"
    return Response(css, media_type="text/css", headers={"cache-control": "no-cache"})
