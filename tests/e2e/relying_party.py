"""A real OpenID Connect relying party: a small Starlette app on Authlib's client.

It does what an application integrating the provider does: discovery, the code flow with
PKCE (S256) and nonce, ID token validation against the published keys (Authlib checks
signature, issuer, audience, expiry and nonce), userinfo, refresh and RP-initiated logout.
Served by uvicorn on a loopback port, driven by a headless Chromium.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.e2e.support import free_port_run


@dataclass
class RelyingParty:
    name: str
    base_url: str
    signed_in: list[dict[str, Any]] = field(default_factory=list)  # what each callback got

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def signed_out_uri(self) -> str:
        return f"{self.base_url}/signed-out"


def make_app(party: RelyingParty, discovery_url: str, client_id: str, secret: str | None) -> Any:
    oauth = OAuth()
    kwargs: dict[str, Any] = {
        "scope": "openid profile email phone",
        "code_challenge_method": "S256",
    }
    if secret is None:
        kwargs["token_endpoint_auth_method"] = "none"
    oauth.register(
        "idp",
        client_id=client_id,
        client_secret=secret,
        server_metadata_url=discovery_url,
        client_kwargs=kwargs,
    )
    idp: Any = oauth.idp

    async def login(request: Request) -> Response:
        return await idp.authorize_redirect(request, party.redirect_uri)  # type: ignore[no-any-return]

    async def callback(request: Request) -> Response:
        token = await idp.authorize_access_token(request)  # validates the ID token
        info = await idp.userinfo(token=token)
        request.session["token"] = {
            k: token[k] for k in ("access_token", "refresh_token", "id_token")
        }
        party.signed_in.append({"token": dict(token), "userinfo": dict(info)})
        return HTMLResponse(
            f"<h1 id='who'>Signed in to {party.name} as {html.escape(info.get('name', ''))}</h1>"
            f"<p id='email'>{html.escape(info.get('email', ''))}</p>"
        )

    async def refresh(request: Request) -> Response:
        stored = request.session["token"]
        fresh = await idp.fetch_access_token(
            grant_type="refresh_token", refresh_token=stored["refresh_token"]
        )
        stored.update(access_token=fresh["access_token"], refresh_token=fresh["refresh_token"])
        request.session["token"] = stored
        party.signed_in.append({"refreshed": dict(fresh)})
        return HTMLResponse("<p id='refreshed'>refreshed</p>")

    async def logout(request: Request) -> Response:
        metadata = await idp.load_server_metadata()
        params = {
            "id_token_hint": request.session["token"]["id_token"],
            "post_logout_redirect_uri": party.signed_out_uri,
            "state": secrets.token_urlsafe(8),
        }
        request.session.clear()
        return RedirectResponse(f"{metadata['end_session_endpoint']}?{urlencode(params)}")

    async def signed_out(request: Request) -> Response:
        return HTMLResponse(f"<h1 id='signed-out'>Signed out of {party.name}</h1>")

    app = Starlette(
        routes=[
            Route("/login", login),
            Route("/callback", callback),
            Route("/refresh", refresh),
            Route("/logout", logout),
            Route("/signed-out", signed_out),
        ]
    )
    app.add_middleware(
        SessionMiddleware, secret_key=secrets.token_urlsafe(32), session_cookie=f"rp_{party.name}"
    )
    return app


def reserve(*names: str) -> list[RelyingParty]:
    """Relying parties with their addresses chosen (their redirect URIs are registered before
    they run): consecutive free loopback ports."""
    first = free_port_run(len(names), start=29000)
    return [RelyingParty(name, f"http://127.0.0.1:{first + n}") for n, name in enumerate(names)]


@contextmanager
def serving(
    party: RelyingParty, discovery_url: str, client_id: str, secret: str | None
) -> Iterator[RelyingParty]:
    port = int(party.base_url.rsplit(":", 1)[1])
    config = uvicorn.Config(
        make_app(party, discovery_url, client_id, secret),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"rp-{party.name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the relying party {party.name} did not start")
        time.sleep(0.05)
    try:
        yield party
    finally:
        server.should_exit = True
        thread.join(timeout=10)
