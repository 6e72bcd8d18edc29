"""What the OpenID Connect endpoints answer, for the OpenAPI (the bodies are Authlib's and
the protocol's: an OAuth error is `{error, error_description}`, not the service envelope)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OAuthError(BaseModel):
    """An OAuth 2.0 error (RFC 6749 5.2, RFC 6750 3.1): what relying parties expect."""

    error: str = Field(examples=["invalid_grant"])
    error_description: str | None = None


class OidcTokens(BaseModel):
    token_type: str = "Bearer"
    access_token: str
    expires_in: int
    refresh_token: str
    scope: str | None = None
    id_token: str | None = Field(default=None, description="With the openid scope")


class UserInfo(BaseModel):
    model_config = ConfigDict(extra="allow")
    sub: str = Field(description="The user's auth_user_id")


class Introspected(BaseModel):
    model_config = ConfigDict(extra="allow")
    active: bool


HTML_PAGE: dict[str, Any] = {"content": {"text/html": {}}}


def oauth_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": OAuthError, "description": "An OAuth error"} for s in statuses}


def html_pages(**pages: str) -> dict[int | str, dict[str, Any]]:
    return {int(s[1:]): {"description": text, **HTML_PAGE} for s, text in pages.items()}
