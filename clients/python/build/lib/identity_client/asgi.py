"""Plain ASGI middleware: refuses requests without a valid access token, and hands the
verified token to the application as `scope["state"]["identity"]` (Starlette:
`request.state.identity`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from identity_client.errors import IdentityError, InvalidToken
from identity_client.tokens import AsyncTokenVerifier

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class IdentityMiddleware:
    """`protect(path)` says which paths need a token (all of them by default)."""

    def __init__(
        self,
        app: ASGIApp,
        verifier: AsyncTokenVerifier,
        *,
        protect: Callable[[str], bool] = lambda path: True,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.protect = protect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.protect(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            await _refuse(send, 401, "A bearer access token is required.")
            return
        try:
            verified = await self.verifier.verify(token)
        except InvalidToken as exc:
            await _refuse(send, 401, exc.message)
            return
        except IdentityError as exc:
            await _refuse(send, 503, exc.message)
            return
        scope.setdefault("state", {})["identity"] = verified
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": {"code": "invalid_token", "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer error="invalid_token"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
