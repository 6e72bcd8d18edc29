"""The two sides of an OpenID Connect sign-in, in process: a browser at the hosted page and
a relying party's server at the token endpoint (the real RP, in Chromium, is tests/e2e)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import PEER

REDIRECT = "https://rp.example/callback"
LOGOUT_REDIRECT = "https://rp.example/signed-out"
SCOPE = "openid profile email phone"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def register_client(admin_auth: TestClient, application_id: str, **settings: Any) -> dict:
    body = {
        "client_type": "confidential",
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": [LOGOUT_REDIRECT],
        **settings,
    }
    response = admin_auth.put(f"/auth/admin/oidc/clients/{application_id}", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Authorization:
    """One authorization request as a relying party makes it, and what it must check."""

    client_id: str
    redirect_uri: str = REDIRECT
    scope: str = SCOPE
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    verifier: str | None = None
    challenge: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def with_pkce(cls, client_id: str, **kwargs: Any) -> Authorization:
        verifier, challenge = pkce_pair()
        return cls(client_id, verifier=verifier, challenge=challenge, **kwargs)

    def query(self) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
        }
        if self.challenge:
            params.update(code_challenge=self.challenge, code_challenge_method="S256")
        params.update(self.extra)
        return urlencode(params)


class Browser:
    """A user's browser at the provider: keeps its cookies, never follows a redirect."""

    def __init__(self, app: FastAPI, peer: tuple[str, int] = PEER) -> None:
        self.client = TestClient(app, client=peer, follow_redirects=False)

    def authorize(self, request: Authorization) -> httpx.Response:
        return self.client.get(f"/auth/oidc/authorize?{request.query()}")

    def submit(self, page: httpx.Response, action: str, **fields: str) -> httpx.Response:
        """Post one of the page's forms with its hidden fields (flow, CSRF token)."""
        form = page.text.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
        hidden = dict(HIDDEN.findall(form))
        headers = {"Origin": "http://testserver"}
        return self.client.post(action, data={**hidden, **fields}, headers=headers)

    def sign_in(self, request: Authorization, login: str, password: str) -> httpx.Response:
        page = self.authorize(request)
        assert page.status_code == 200, page.text
        return self.submit(page, "/auth/oidc/sign-in/password", login=login, password=password)


def returned(response: httpx.Response, request: Authorization) -> dict[str, str]:
    """The parameters the provider sent the user back to the application with."""
    assert response.status_code in (302, 303), response.text
    location = urlsplit(response.headers["location"])
    expected = urlsplit(request.redirect_uri)
    assert (location.scheme, location.netloc, location.path) == (
        expected.scheme,
        expected.netloc,
        expected.path,
    )
    values = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert values.get("state") == request.state
    return values


def exchange(
    auth_client: TestClient,
    request: Authorization,
    code: str,
    secret: str | None,
    **overrides: str,
) -> httpx.Response:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
        **({"code_verifier": request.verifier} if request.verifier else {}),
    }
    auth = (request.client_id, secret) if secret else None
    if secret is None:
        body["client_id"] = request.client_id
    body.update(overrides)
    return auth_client.post("/auth/oidc/token", data=body, auth=auth)


def verify_id_token(auth_client: TestClient, token: str, request: Authorization) -> dict:
    """What a relying party checks of an ID token, with the published keys only."""
    keys = jwt.PyJWKSet.from_dict(auth_client.get("/.well-known/jwks.json").json())
    header = jwt.get_unverified_header(token)
    issuer = auth_client.get("/.well-known/openid-configuration").json()["issuer"]
    claims = jwt.decode(
        token,
        keys[header["kid"]],
        algorithms=[header["alg"]],
        audience=request.client_id,
        issuer=issuer,
    )
    assert claims["nonce"] == request.nonce
    return dict(claims)
