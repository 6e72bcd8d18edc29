"""A FastAPI dependency: the signed-in user of the request's bearer token.

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from identity_client import AsyncTokenVerifier, VerifiedToken
    from identity_client.fastapi import CurrentUser

    verifier = AsyncTokenVerifier("https://auth.example.com/.well-known/jwks.json",
                                  audience="<the application's id>")
    current_user = CurrentUser(verifier)

    @app.get("/me")
    async def me(user: Annotated[VerifiedToken, Depends(current_user)]) -> dict:
        return {"auth_user_id": user.subject}

Needs the `fastapi` extra (`pip install 'identity-services-client[fastapi]'`).
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from identity_client.aio import AsyncIdentityClient
from identity_client.errors import IdentityError, InvalidToken
from identity_client.tokens import AsyncTokenVerifier, TokenVerifier, VerifiedToken


def bearer_of(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip() or None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail=message,
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'
        },
    )


class CurrentUser:
    """Checks the bearer token offline; with `revocation` also asks `/auth/session` (for
    routes where a session ended a moment ago must already be refused)."""

    def __init__(
        self,
        verifier: AsyncTokenVerifier | TokenVerifier,
        *,
        revocation: AsyncIdentityClient | None = None,
    ) -> None:
        self.verifier = verifier
        self.revocation = revocation

    async def __call__(self, request: Request) -> VerifiedToken:
        token = bearer_of(request.headers.get("authorization"))
        if token is None:
            raise _unauthorized("A bearer access token is required.")
        try:
            if isinstance(self.verifier, AsyncTokenVerifier):
                verified = await self.verifier.verify(token)
            else:
                verified = await run_in_threadpool(self.verifier.verify, token)
            if self.revocation is not None:
                await self.revocation.session(token)
        except InvalidToken as exc:
            raise _unauthorized(exc.message) from exc
        except IdentityError as exc:  # the service or its keys could not be reached
            raise HTTPException(status_code=503, detail=exc.message) from exc
        return verified
