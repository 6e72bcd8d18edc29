"""Bad OAuth/OIDC input: a clear OAuth error or error page, nothing issued, nothing changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from auth.oidc import codes as codes_module
from shared.audit import EventType
from tests.auth.oidc_support import (
    REDIRECT,
    Authorization,
    Browser,
    exchange,
    register_client,
    returned,
)
from tests.auth.support import PASSWORD, audit_events


def _code(auth_app, rp, member, **kwargs):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"], **kwargs)
    return request, returned(browser.sign_in(request, member["email"], PASSWORD), request)["code"]


def _error_page(response, title):
    assert response.status_code == 400, response.text
    assert "location" not in response.headers  # never a redirect to an unverified address
    assert title in response.text


def test_an_unknown_client_gets_an_error_page(auth_app, runtime):
    browser = Browser(auth_app)
    for client_id in ("not-a-uuid", "01a23700-0000-7000-8000-000000000000"):
        _error_page(browser.authorize(Authorization(client_id)), "Unknown application")
    assert audit_events(runtime, EventType.OIDC_DENIED)


def test_an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(auth_app, rp):
    browser = Browser(auth_app)
    for uri in ("https://evil.example/callback", REDIRECT + "/", REDIRECT + "?x=1", "javascript:1"):
        response = browser.authorize(Authorization.with_pkce(rp["id"], redirect_uri=uri))
        _error_page(response, "This sign-in request is not valid")


def test_other_errors_go_back_to_the_registered_redirect_uri(auth_app, rp):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"], extra={"response_type": "token"})
    back = returned(browser.authorize(request), request)
    assert back["error"] == "unsupported_response_type"
    plain = Authorization(
        rp["id"], extra={"code_challenge": "x" * 43, "code_challenge_method": "plain"}
    )
    assert returned(browser.authorize(plain), plain)["error"] == "invalid_request"
    no_method = Authorization(rp["id"], extra={"code_challenge": "x" * 43})
    assert returned(browser.authorize(no_method), no_method)["error"] == "invalid_request"


def test_a_public_client_must_use_pkce(auth_app, auth_client, admin_auth, rp, member):
    register_client(admin_auth, rp["id"], client_type="public")
    browser = Browser(auth_app)
    request = Authorization(rp["id"])
    back = returned(browser.authorize(request), request)
    assert back["error"] == "invalid_request" and "PKCE" in back["error_description"]
    with_pkce = Authorization.with_pkce(rp["id"])
    code = returned(browser.sign_in(with_pkce, member["email"], PASSWORD), with_pkce)["code"]
    response = exchange(auth_client, with_pkce, code, None)
    assert response.status_code == 200, response.text
    assert "refresh_token" in response.json() and "id_token" in response.json()


def test_a_wrong_or_missing_verifier_is_refused_and_burns_the_code(
    auth_app, auth_client, rp, member, runtime
):
    request, code = _code(auth_app, rp, member)
    wrong = exchange(auth_client, request, code, rp["secret"], code_verifier="y" * 43)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert "access_token" not in wrong.text
    # The code was spent on the failed attempt: the right verifier cannot use it now.
    again = exchange(auth_client, request, code, rp["secret"])
    assert again.json()["error"] == "invalid_grant"
    request2, code2 = _code(auth_app, rp, member)
    missing = exchange(auth_client, request2, code2, rp["secret"], code_verifier="")
    assert missing.status_code == 400 and "access_token" not in missing.text


def test_a_code_used_twice_is_refused_and_what_it_gave_is_revoked(
    auth_app, auth_client, rp, member, runtime
):
    request, code = _code(auth_app, rp, member)
    first = exchange(auth_client, request, code, rp["secret"]).json()
    second = exchange(auth_client, request, code, rp["secret"])
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    assert auth_client.get("/auth/oidc/userinfo", headers=bearer).status_code == 401
    refreshed = auth_client.post(
        "/auth/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(rp["id"], rp["secret"]),
    )
    assert refreshed.json()["error"] == "invalid_grant"
    (event,) = audit_events(runtime, EventType.OIDC_CODE_REUSED)
    assert event.details["revoked_session_id"]


def test_a_code_older_than_sixty_seconds_is_refused(auth_app, auth_client, rp, member, monkeypatch):
    request, code = _code(auth_app, rp, member)
    later = time.time() + codes_module.CODE_TTL_SECONDS + 1
    monkeypatch.setattr(codes_module.time, "time", lambda: later)
    response = exchange(auth_client, request, code, rp["secret"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused_and_leaves_the_code(auth_app, auth_client, rp, member):
    request, code = _code(auth_app, rp, member)
    wrong = exchange(auth_client, request, code, "ocs_" + "z" * 43)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert exchange(auth_client, request, code, rp["secret"]).status_code == 200


def test_a_code_for_another_redirect_uri_or_client_is_refused(
    auth_app, auth_client, admin, admin_auth, rp, member
):
    request, code = _code(auth_app, rp, member)
    moved = exchange(auth_client, request, code, rp["secret"], redirect_uri="https://rp.example/x")
    assert moved.json()["error"] == "invalid_grant"


def test_the_token_endpoint_keeps_the_allow_list_and_authorize_does_not(
    auth_app, auth_client, admin, rp, member, runtime
):
    request, code = _code(auth_app, rp, member)
    admin.patch(f"/directory/applications/{rp['id']}", json={"allowed_ips": ["10.9.9.9/32"]})
    refused = exchange(auth_client, request, code, rp["secret"])
    assert refused.status_code == 403 and refused.json()["error"] == "access_denied"
    assert audit_events(runtime, EventType.API_DENIED_IP)
    # The user's browser is not on the application's allow-list, and needs not be.
    assert Browser(auth_app).authorize(Authorization.with_pkce(rp["id"])).status_code == 200


def test_a_replayed_nonce_is_refused(auth_app, rp, member):
    _code(auth_app, rp, member, nonce="the-same-nonce")
    again = Authorization.with_pkce(rp["id"], nonce="the-same-nonce")
    back = returned(Browser(auth_app).authorize(again), again)
    assert back["error"] == "invalid_request"


def test_oversized_parameters_are_refused(auth_app, auth_client, rp):
    huge = Authorization.with_pkce(rp["id"], extra={"login_hint": "x" * 5000})
    _error_page(Browser(auth_app).authorize(huge), "It is too large")
    response = auth_client.post(
        "/auth/oidc/token", data={"grant_type": "authorization_code", "code": "c" * 20000}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("grant_type", ["", "password", "client_credentials", "x" * 100])
def test_unsupported_grants_are_refused(auth_client, rp, grant_type):
    response = auth_client.post(
        "/auth/oidc/token", data={"grant_type": grant_type}, auth=(rp["id"], rp["secret"])
    )
    assert response.status_code == 400
    assert response.json()["error"] in ("unsupported_grant_type", "invalid_request")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_forged_tokens_presented_back_are_refused(auth_app, auth_client, rp, member, runtime):
    request, code = _code(auth_app, rp, member)
    tokens = exchange(auth_client, request, code, rp["secret"]).json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["access_token"])
    unsigned = f"{_b64(json.dumps({**header, 'alg': 'none'}).encode())}.{_b64(json.dumps(claims).encode())}."
    jwk = next(
        k
        for k in auth_client.get("/.well-known/jwks.json").json()["keys"]
        if k["kid"] == header["kid"]
    )
    confused_input = f"{_b64(json.dumps({**header, 'alg': 'HS256'}).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(json.dumps(jwk).encode(), confused_input.encode(), hashlib.sha256).digest()
    confused = f"{confused_input}.{_b64(signature)}"
    for forged in (unsigned, confused):
        info = auth_client.get("/auth/oidc/userinfo", headers={"Authorization": f"Bearer {forged}"})
        assert info.status_code == 401
        body = auth_client.post(
            "/auth/oidc/introspect", data={"token": forged}, auth=(rp["id"], rp["secret"])
        ).json()
        assert body == {"active": False}
        logout = Browser(auth_app).client.get(f"/auth/oidc/logout?id_token_hint={forged}")
        assert logout.status_code == 400 and "location" not in logout.headers


def test_a_post_logout_redirect_uri_not_registered_is_never_followed(
    auth_app, auth_client, rp, member
):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    code = returned(browser.sign_in(request, member["email"], PASSWORD), request)["code"]
    tokens = exchange(auth_client, request, code, rp["secret"]).json()
    response = browser.client.get(
        "/auth/oidc/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert response.status_code == 200 and "location" not in response.headers
    assert "You are signed out" in response.text


def test_forms_from_another_site_or_browser_or_without_their_token_do_nothing(
    auth_app, rp, member, runtime
):
    browser = Browser(auth_app)
    page = browser.authorize(Authorization.with_pkce(rp["id"]))
    action = "/auth/oidc/sign-in/password"
    fields = {"login": member["email"], "password": PASSWORD}
    foreign = browser.client.post(action, data=fields, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "location" not in foreign.headers
    no_token = browser.submit(page, action, csrf_token="", **fields)
    assert no_token.status_code == 400 and "expired" in no_token.text
    thief = Browser(auth_app)  # another browser, with this page's flow and token
    stolen = thief.submit(page, action, **fields)
    assert stolen.status_code == 400 and "location" not in stolen.headers
    assert not audit_events(runtime, EventType.LOGIN_SUCCEEDED)
    # The real user's page still works.
    assert browser.submit(page, action, **fields).status_code == 302
