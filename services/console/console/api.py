"""The console's only way to the other services: their HTTP APIs, with the admin's token.

Behind Traefik the calls go to `IDENTITY_CONSOLE_API_BASE_URL`; in the
embedded dev mode (and the tests) the target is the in-process dispatcher,
called over ASGI with the browser's address as the peer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from starlette.types import ASGIApp

from console.security.session import ConsoleSession, SessionStore
from shared.client_ip import resolve_client_ip
from shared.runtime import Runtime

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
# Refresh the access token this long before it expires, so a page never fails halfway.
REFRESH_MARGIN_SECONDS = 60


@dataclass
class ApiError(Exception):
    """An error answer (or no answer) from a service, in the services' envelope terms."""

    status: int
    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(response.status_code, "http_error", f"HTTP {response.status_code}")
        fields: dict[str, str] = {}
        items = list(error.get("fields") or [])
        if error.get("field"):
            items.append({"field": error["field"], "message": error.get("message", "")})
        for item in items:
            path = str(item.get("field", ""))
            parts = [p for p in path.split(".") if p and not p.isdigit()]
            # Forms name fields by the full path, the field itself or the top-level object.
            for name in (path, parts[-1] if parts else "", parts[0] if parts else ""):
                if name:
                    fields.setdefault(name, str(item.get("message", "")))
        extra = {k: v for k, v in error.items() if k not in ("code", "message", "fields")}
        return cls(
            response.status_code,
            str(error.get("code", "error")),
            str(error.get("message", "")),
            fields,
            extra,
        )


class SignInRequired(Exception):
    """The console session is over (signed out, expired, revoked or no longer an admin)."""

    def __init__(self, message: str = "Sign in to continue.") -> None:
        super().__init__(message)
        self.message = message


def api_target(request: Request) -> str | ASGIApp:
    target: str | ASGIApp = request.app.state.api_target
    return target


def make_client(request: Request) -> httpx.AsyncClient:
    """A client to the services that passes on who the browser is."""
    runtime: Runtime = request.app.state.runtime
    target = api_target(request)
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    headers = {"user-agent": request.headers.get("user-agent", "identity-console")}
    if isinstance(target, str):
        # Like a reverse proxy: the services believe this only if they trust our address.
        chain = ", ".join(part for part in (forwarded, peer) if part)
        if chain:
            headers["x-forwarded-for"] = chain
        return httpx.AsyncClient(
            base_url=target, headers=headers, timeout=TIMEOUT, follow_redirects=False
        )
    client = resolve_client_ip(peer, forwarded, runtime.settings.trusted_proxy_networks)
    if forwarded:
        headers["x-forwarded-for"] = forwarded
    transport = httpx.ASGITransport(app=target, client=(client.effective_ip or "127.0.0.1", 0))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://console.internal",
        headers=headers,
        timeout=TIMEOUT,
        follow_redirects=False,
    )


class ConsoleApi:
    def __init__(self, client: httpx.AsyncClient, request: Request) -> None:
        self.client = client
        self.request = request
        self.store: SessionStore = request.app.state.session_store

    @property
    def session(self) -> ConsoleSession:
        session: ConsoleSession = self.request.state.console_session
        return session

    async def send(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """The raw response; transport failures become a 503 ApiError."""
        headers = dict(kwargs.pop("headers", None) or {})
        if auth:
            headers["authorization"] = f"Bearer {await self.access_token()}"
        try:
            return await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            service = path.strip("/").split("/")[0] or "service"
            raise ApiError(503, "unreachable", f"The {service} service cannot be reached.") from exc

    async def call(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Any:
        """The JSON answer of a successful call; an ApiError otherwise."""
        response = await self.send(method, path, auth=auth, **kwargs)
        if auth and response.status_code in (401, 403):
            error = ApiError.from_response(response)
            if response.status_code == 401 or error.code == "not_admin":
                await self.end_session()
                raise SignInRequired(
                    "Administrator access only."
                    if error.code == "not_admin"
                    else "Your console session has ended. Sign in again."
                )
            raise error
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.call("POST", path, **kwargs)

    async def access_token(self) -> str:
        session = self.session
        if not session.signed_in or session.access_token is None:
            raise SignInRequired()
        if session.access_expires_at - time.time() > REFRESH_MARGIN_SECONDS:
            return session.access_token
        response = await self.send(
            "POST",
            "/auth/admin/token/refresh",
            auth=False,
            json={"refresh_token": session.refresh_token or ""},
        )
        if response.status_code != 200:
            await self.end_session()
            raise SignInRequired("Your console session has ended. Sign in again.")
        self.keep_tokens(response.json())
        return str(session.access_token)

    def keep_tokens(self, tokens: dict[str, Any]) -> None:
        session = self.session
        session.access_token = tokens["access_token"]
        session.refresh_token = tokens["refresh_token"]
        session.access_expires_at = time.time() + int(tokens["expires_in"])

    async def end_session(self, message: str | None = None) -> None:
        """Forget the tokens: the browser continues with a fresh, signed-out session."""
        fresh = self.store.rotate(self.session)
        if message:
            fresh.notify(message)
        self.request.state.console_session = fresh


async def console_api(request: Request) -> AsyncIterator[ConsoleApi]:
    async with make_client(request) as client:
        yield ConsoleApi(client, request)


Api = Annotated[ConsoleApi, Depends(console_api)]
