"""A consuming application in a few lines: sign-in through the service, protected routes
checked offline, the user list kept in sync.

    IDENTITY_URL=https://auth.example.com IDENTITY_API_KEY=ask_... \\
    IDENTITY_APPLICATION_ID=<the application's id> uvicorn fastapi_app:app
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from identity_client import (
    AsyncIdentityClient,
    AsyncTokenVerifier,
    IdentityError,
    MfaChallenge,
    TokenPair,
    VerifiedToken,
)
from identity_client.fastapi import CurrentUser
from pydantic import BaseModel

URL = os.environ.get("IDENTITY_URL", "http://localhost:8000")
APPLICATION_ID = os.environ.get("IDENTITY_APPLICATION_ID", "")

identity = AsyncIdentityClient(
    URL, os.environ.get("IDENTITY_API_KEY", ""), application_id=APPLICATION_ID
)
current_user = CurrentUser(
    AsyncTokenVerifier(f"{URL}/.well-known/jwks.json", audience=APPLICATION_ID)
)
app = FastAPI(title="Payroll")


@app.exception_handler(IdentityError)
async def refused(request: Request, exc: Exception) -> JSONResponse:
    # UserNotFound, NotAssigned, InvalidMfaCode...: the service's own words for the user.
    assert isinstance(exc, IdentityError)
    status = exc.status if 400 <= exc.status < 500 else 503
    return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status)


class Credentials(BaseModel):
    login: str
    password: str


class SecondFactor(BaseModel):
    mfa_challenge_id: str
    method: str  # "totp" (the authenticator app) or "recovery_code"
    code: str


def _tokens(pair: TokenPair) -> dict[str, Any]:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token}


@app.post("/login")
async def login(body: Credentials) -> dict[str, Any]:
    answer = await identity.login(body.login, body.password)
    if isinstance(answer, MfaChallenge):
        # Ask for what `methods` offers, then post it to /login/second-factor.
        return {
            "mfa_required": True,
            "mfa_challenge_id": answer.mfa_challenge_id,
            "methods": list(answer.methods),
        }
    return _tokens(answer)


@app.post("/login/second-factor")
async def second_factor(body: SecondFactor) -> dict[str, Any]:
    return _tokens(await identity.verify_mfa(body.mfa_challenge_id, body.method, body.code))


@app.get("/me")
async def me(user: Annotated[VerifiedToken, Depends(current_user)]) -> dict[str, Any]:
    return {"auth_user_id": user.subject, "session_id": user.session_id}
