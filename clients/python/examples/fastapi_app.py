"""A consuming application in a few lines: sign-in through the service, protected routes
checked offline, the user list kept in sync.

    IDENTITY_URL=https://auth.example.com IDENTITY_API_KEY=ask_... \\
    IDENTITY_APPLICATION_ID=<the application's id> uvicorn fastapi_app:app
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from identity_client import AsyncIdentityClient, AsyncTokenVerifier, TokenPair, VerifiedToken
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


class Credentials(BaseModel):
    login: str
    password: str


@app.post("/login")
async def login(body: Credentials) -> dict[str, Any]:
    # UserNotFound / NotAssigned carry the service's own words for the user.
    answer = await identity.login(body.login, body.password)
    if not isinstance(answer, TokenPair):
        return {"mfa_required": True, "otp_request_id": answer.otp_request_id}
    return {"access_token": answer.access_token, "refresh_token": answer.refresh_token}


@app.get("/me")
async def me(user: Annotated[VerifiedToken, Depends(current_user)]) -> dict[str, Any]:
    return {"auth_user_id": user.subject, "session_id": user.session_id}
