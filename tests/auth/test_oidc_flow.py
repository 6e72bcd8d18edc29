"""The authorization code flow end to end in process: hosted sign-in, code, tokens, ID token."""

from __future__ import annotations

import jwt
import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata

from shared.audit import EventType
from tests.auth.oidc_support import (
    Authorization,
    Browser,
    exchange,
    register_client,
    returned,
    verify_id_token,
)
from tests.auth.support import PASSWORD, AppCaller, audit_events
from tests.factories import make_app_with_key


def test_discovery_describes_the_provider(auth_client, runtime):
    document = auth_client.get("/.well-known/openid-configuration").json()
    # The tests' issuer is plain http (a local name); the metadata check wants https.
    secured = {
        k: v.replace("http://", "https://", 1) if isinstance(v, str) else v
        for k, v in document.items()
    }
    OpenIDProviderMetadata(secured).validate()
    assert document["issuer"] == runtime.tokens.issuer
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert set(document["id_token_signing_alg_values_supported"]) == {"RS256", "ES256", "EdDSA"}


def test_password_sign_in_gives_a_code_that_gives_tokens(auth_app, auth_client, rp, member):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    back = returned(browser.sign_in(request, member["email"], PASSWORD), request)
    response = exchange(auth_client, request, back["code"], rp["secret"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert response.headers["cache-control"] == "no-store"
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == request.scope
    claims = verify_id_token(auth_client, tokens["id_token"], request)
    assert claims["sub"] == member["auth_user_id"]
    assert claims["email"] == member["email"] and claims["name"] == member["name"]
    assert claims["phone_number"] == member["mobile_number"]
    assert "emp_id" in claims and claims["amr"] == ["pwd"]
    access = jwt.get_unverified_header(tokens["access_token"])
    assert access["alg"] == "RS256"
    # The seed's revocation-aware check takes OIDC access tokens too.
    headers = {"X-Auth-Service-Key": rp["key"], "Authorization": f"Bearer {tokens['access_token']}"}
    assert auth_client.get("/auth/session", headers=headers).status_code == 200
    info = auth_client.get(
        "/auth/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == member["auth_user_id"]


def _signed_in_tokens(auth_app, auth_client, rp, member, **request_args):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"], **request_args)
    back = returned(browser.sign_in(request, member["email"], PASSWORD), request)
    response = exchange(auth_client, request, back["code"], rp["secret"])
    assert response.status_code == 200, response.text
    return browser, request, response.json()


def test_a_confidential_client_may_leave_pkce_out_and_post_its_secret(
    auth_app, auth_client, rp, member
):
    browser = Browser(auth_app)
    request = Authorization(rp["id"])
    back = returned(browser.sign_in(request, member["email"], PASSWORD), request)
    body = {"client_id": rp["id"], "client_secret": rp["secret"]}
    response = auth_client.post(
        "/auth/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": back["code"],
            "redirect_uri": request.redirect_uri,
            **body,
        },
    )
    assert response.status_code == 200, response.text
    verify_id_token(auth_client, response.json()["id_token"], request)


def test_refresh_rotates_in_the_same_family_and_reuse_revokes_it(
    auth_app, auth_client, rp, member, runtime
):
    _, _, tokens = _signed_in_tokens(auth_app, auth_client, rp, member)

    def refresh(token):
        return auth_client.post(
            "/auth/oidc/token",
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=(rp["id"], rp["secret"]),
        )

    second = refresh(tokens["refresh_token"])
    assert second.status_code == 200, second.text
    fresh = second.json()
    assert fresh["refresh_token"] != tokens["refresh_token"] and fresh["scope"] == tokens["scope"]
    claims = jwt.decode(fresh["access_token"], options={"verify_signature": False})
    assert claims["scope"] == tokens["scope"] and claims["client_id"] == rp["id"]
    third = refresh(fresh["refresh_token"]).json()
    replayed = refresh(tokens["refresh_token"])  # the first, after its successor was used
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    info = auth_client.get(
        "/auth/oidc/userinfo", headers={"Authorization": f"Bearer {third['access_token']}"}
    )
    assert info.status_code == 401  # the whole family is gone


def test_userinfo_gives_only_the_granted_scopes(auth_app, auth_client, rp, member):
    _, _, tokens = _signed_in_tokens(auth_app, auth_client, rp, member, scope="openid email")
    info = auth_client.get(
        "/auth/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert info == {
        "sub": member["auth_user_id"],
        "email": member["email"],
        "email_verified": False,
    }


def test_revocation_ends_the_session_and_introspection_says_so(
    auth_app, auth_client, rp, member, runtime
):
    _, _, tokens = _signed_in_tokens(auth_app, auth_client, rp, member)
    auth = (rp["id"], rp["secret"])
    active = auth_client.post(
        "/auth/oidc/introspect", data={"token": tokens["access_token"]}, auth=auth
    ).json()
    assert active["active"] is True and active["sub"] == member["auth_user_id"]
    assert active["client_id"] == rp["id"] and active["scope"] == tokens["scope"]
    refresh_info = auth_client.post(
        "/auth/oidc/introspect",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=auth,
    ).json()
    assert refresh_info["active"] is True and refresh_info["token_type"] == "refresh_token"

    revoked = auth_client.post(
        "/auth/oidc/revoke", data={"token": tokens["refresh_token"]}, auth=auth
    )
    assert revoked.status_code == 200
    for token in (tokens["access_token"], tokens["refresh_token"]):
        after = auth_client.post("/auth/oidc/introspect", data={"token": token}, auth=auth)
        assert after.json() == {"active": False}
    info = auth_client.get(
        "/auth/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 401
    assert audit_events(runtime, EventType.OIDC_TOKEN_REVOKED)
    # Revoking what is unknown (or revoked already) is still a 200 (RFC 7009).
    again = auth_client.post("/auth/oidc/revoke", data={"token": "rt_" + "x" * 43}, auth=auth)
    assert again.status_code == 200


def test_another_clients_token_is_not_active_for_this_one(
    auth_app, auth_client, admin, admin_auth, rp, member
):
    _, _, tokens = _signed_in_tokens(auth_app, auth_client, rp, member)
    other_app, _ = make_app_with_key(admin)
    other = register_client(admin_auth, other_app["id"])
    auth = (other_app["id"], other["client_secret"])
    for token in (tokens["access_token"], tokens["refresh_token"]):
        body = auth_client.post("/auth/oidc/introspect", data={"token": token}, auth=auth).json()
        assert body == {"active": False}


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_the_clients_algorithm_signs_its_id_and_access_tokens(
    auth_app, auth_client, admin_auth, rp, member, alg, application
):
    register_client(admin_auth, rp["id"], token_signing_alg=alg)
    _, request, tokens = _signed_in_tokens(auth_app, auth_client, rp, member)
    assert jwt.get_unverified_header(tokens["id_token"])["alg"] == alg
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == alg
    verify_id_token(auth_client, tokens["id_token"], request)
    # The seed's API signs this application's tokens with it too.
    caller = AppCaller(auth_client, application[1], application[0])
    assert (
        jwt.get_unverified_header(caller.signed_in(member["email"])["access_token"])["alg"] == alg
    )


def test_otp_sign_in_at_the_hosted_page(auth_app, auth_client, rp, member, outbox, runtime):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    page = browser.authorize(request)
    sent = browser.submit(page, "/auth/oidc/sign-in/otp", login=member["mobile_number"])
    assert sent.status_code == 200 and "Enter your sign-in code" in sent.text
    (task,) = outbox.tasks
    assert task.channel.value == "sms" and task.destination == member["mobile_number"]
    back = returned(browser.submit(sent, "/auth/oidc/sign-in/code", code=outbox.secret()), request)
    tokens = exchange(auth_client, request, back["code"], rp["secret"]).json()
    assert verify_id_token(auth_client, tokens["id_token"], request)["amr"] == ["otp"]
    (event,) = audit_events(runtime, EventType.LOGIN_SUCCEEDED)
    assert event.details["method"] == "otp" and event.details["via"] == "oidc"


def test_a_wrong_code_says_so_and_issues_nothing(auth_app, rp, member, outbox):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    sent = browser.submit(
        browser.authorize(request), "/auth/oidc/sign-in/otp", login=member["email"]
    )
    wrong = f"{(int(outbox.secret()) + 1) % 10**6:06d}"
    answer = browser.submit(sent, "/auth/oidc/sign-in/code", code=wrong)
    assert answer.status_code == 401 and "The code is incorrect." in answer.text
    assert "location" not in answer.headers


def test_mfa_asks_for_the_code_after_the_password(auth_app, auth_client, admin, rp, member, outbox):
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"mfa_enabled": True})
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    second = browser.sign_in(request, member["email"], PASSWORD)
    assert second.status_code == 200 and "Second step" in second.text
    assert "location" not in second.headers
    (task,) = outbox.tasks
    assert task.purpose.value == "mfa"
    back = returned(
        browser.submit(second, "/auth/oidc/sign-in/code", code=outbox.secret()), request
    )
    tokens = exchange(auth_client, request, back["code"], rp["secret"]).json()
    assert verify_id_token(auth_client, tokens["id_token"], request)["amr"] == ["pwd", "otp", "mfa"]


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("unknown", "User not in the directory service."),
        ("unassigned", "You are not allowed to access this application. Contact Administrator."),
        ("disabled", "This user is disabled. Contact Administrator."),
    ],
)
def test_the_seeds_messages_and_no_code(auth_app, admin, rp, member, who, message, outbox):
    login = member["email"]
    if who == "unknown":
        login = "nobody@example.com"
    elif who == "unassigned":
        admin.put(
            f"/directory/users/{member['auth_user_id']}/applications", json={"application_ids": []}
        )
    else:
        admin.patch(f"/directory/users/{member['auth_user_id']}", json={"status": "disabled"})
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    page = browser.sign_in(request, login, PASSWORD)
    assert message in page.text and "location" not in page.headers
    by_code = browser.submit(browser.authorize(request), "/auth/oidc/sign-in/otp", login=login)
    assert message in by_code.text and outbox.tasks == []


def test_a_wrong_password_keeps_the_user_on_the_page(auth_app, rp, member, runtime):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    page = browser.sign_in(request, member["email"], "not the password")
    assert page.status_code == 401 and "The login or password is incorrect." in page.text
    assert member["email"] in page.text  # the login stays filled in
    (failed,) = audit_events(runtime, EventType.LOGIN_FAILED)
    assert failed.application_id == rp["id"]


def test_the_lockout_applies_at_the_hosted_page(auth_app, rp, member, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "lockout_threshold", 2)
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    for _ in range(2):
        browser.sign_in(request, member["email"], "not the password")
    locked = browser.sign_in(request, member["email"], PASSWORD)
    assert locked.status_code == 429 and "location" not in locked.headers
