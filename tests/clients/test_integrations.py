"""The FastAPI dependency, the ASGI middleware and the example application, each in front
of the real service."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from identity_client import AsyncTokenVerifier, TokenPair, VerifiedToken
from identity_client.asgi import IdentityMiddleware
from identity_client.fastapi import CurrentUser
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.auth.mfa_support import enrol_totp
from tests.auth.support import PASSWORD

EXAMPLE = Path(__file__).resolve().parents[2] / "clients" / "python" / "examples" / "fastapi_app.py"


def _tokens(identity, app) -> TokenPair:
    pair = identity.login(app.member["email"], PASSWORD)
    assert isinstance(pair, TokenPair)
    return pair


def test_the_fastapi_dependency(base_url, identity, app):
    verifier = AsyncTokenVerifier(f"{base_url}/.well-known/jwks.json", audience=app.id)
    protected = FastAPI()
    current_user = CurrentUser(verifier)

    @protected.get("/me")
    async def me(user: VerifiedToken = Depends(current_user)) -> dict:
        return {"sub": user.subject}

    pair = _tokens(identity, app)
    with TestClient(protected) as client:
        ok = client.get("/me", headers={"Authorization": f"Bearer {pair.access_token}"})
        assert ok.json() == {"sub": app.member["auth_user_id"]}
        missing = client.get("/me")
        assert missing.status_code == 401 and "Bearer" in missing.headers["www-authenticate"]
        forged = client.get("/me", headers={"Authorization": "Bearer x.y.z"})
        assert forged.status_code == 401


def test_the_fastapi_dependency_with_revocation(base_url, identity, app):
    from identity_client import AsyncIdentityClient

    verifier = AsyncTokenVerifier(f"{base_url}/.well-known/jwks.json", audience=app.id)
    protected = FastAPI()
    current_user = CurrentUser(verifier, revocation=AsyncIdentityClient(base_url, app.key))

    @protected.get("/me")
    async def me(user: VerifiedToken = Depends(current_user)) -> dict:
        return {"sub": user.subject}

    pair = _tokens(identity, app)
    identity.logout(refresh_token=pair.refresh_token)
    with TestClient(protected) as client:
        refused = client.get("/me", headers={"Authorization": f"Bearer {pair.access_token}"})
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_the_asgi_middleware(base_url, identity, app):
    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.identity.subject})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    from starlette.applications import Starlette

    inner = Starlette(routes=[Route("/whoami", whoami), Route("/health", health)])
    verifier = AsyncTokenVerifier(f"{base_url}/.well-known/jwks.json", audience=app.id)
    wrapped = IdentityMiddleware(inner, verifier, protect=lambda path: path != "/health")
    pair = _tokens(identity, app)
    with TestClient(wrapped) as client:
        assert client.get("/health").json() == {"ok": True}
        assert client.get("/whoami").status_code == 401
        answer = client.get("/whoami", headers={"Authorization": f"Bearer {pair.access_token}"})
        assert answer.json() == {"sub": app.member["auth_user_id"]}


def _example_app(base_url, app, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("IDENTITY_URL", base_url)
    monkeypatch.setenv("IDENTITY_API_KEY", app.key)
    monkeypatch.setenv("IDENTITY_APPLICATION_ID", app.id)
    spec = importlib.util.spec_from_file_location("example_fastapi_app", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "example_fastapi_app", module)
    spec.loader.exec_module(module)
    return module.app


def test_the_example_application_signs_in_and_protects_its_routes(
    base_url, app, monkeypatch: pytest.MonkeyPatch
):
    with TestClient(_example_app(base_url, app, monkeypatch)) as client:
        tokens = client.post("/login", json={"login": app.member["email"], "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        me = client.get("/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})
        assert me.json()["auth_user_id"] == app.member["auth_user_id"]
        assert client.get("/me").status_code == 401


def test_the_example_application_asks_an_authenticator_app_user_for_the_code(
    base_url, app, service_runtime, monkeypatch: pytest.MonkeyPatch
):
    generator = enrol_totp(service_runtime, app.member["auth_user_id"])
    with TestClient(_example_app(base_url, app, monkeypatch)) as client:
        first = client.post("/login", json={"login": app.member["email"], "password": PASSWORD})
        assert first.status_code == 200 and first.json()["methods"] == ["totp", "otp"]
        step = {"mfa_challenge_id": first.json()["mfa_challenge_id"], "method": "totp"}
        wrong = client.post("/login/second-factor", json={**step, "code": "000000"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_mfa_code"
        tokens = client.post("/login/second-factor", json={**step, "code": generator.now()})
        assert tokens.status_code == 200, tokens.text
        me = client.get("/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})
        assert me.json()["auth_user_id"] == app.member["auth_user_id"]
