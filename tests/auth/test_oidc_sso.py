"""Single sign-on at the provider: one sign-in for every assigned application, ended like
every other session, and RP-initiated logout."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.audit import EventType
from shared.models import AuthSession
from tests.auth.oidc_support import (
    LOGOUT_REDIRECT,
    Authorization,
    Browser,
    exchange,
    register_client,
    returned,
    verify_id_token,
)
from tests.auth.support import PASSWORD, audit_events, wait_for
from tests.factories import assign, make_app_with_key


@pytest.fixture
def second_rp(admin, admin_auth, member, rp):
    app, key = make_app_with_key(admin)
    assign(admin, member["auth_user_id"], [rp["id"], app["id"]])
    settings = register_client(admin_auth, app["id"])
    return {"id": app["id"], "secret": settings["client_secret"], "key": key}


def _signed_in(auth_app, auth_client, rp, member):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    back = returned(browser.sign_in(request, member["email"], PASSWORD), request)
    tokens = exchange(auth_client, request, back["code"], rp["secret"]).json()
    return browser, request, tokens


def _sso_rows(runtime, user_id):
    with runtime.session_factory() as db:
        return list(
            db.scalars(
                select(AuthSession).where(AuthSession.kind == "sso", AuthSession.user_id == user_id)
            )
        )


def test_a_second_application_signs_the_user_in_without_a_password(
    auth_app, auth_client, rp, second_rp, member, runtime
):
    browser, first_request, first = _signed_in(auth_app, auth_client, rp, member)
    request = Authorization.with_pkce(second_rp["id"])
    answer = browser.authorize(request)
    back = returned(answer, request)  # straight back: no page, no password
    tokens = exchange(auth_client, request, back["code"], second_rp["secret"]).json()
    claims = verify_id_token(auth_client, tokens["id_token"], request)
    first_claims = verify_id_token(auth_client, first["id_token"], first_request)
    assert claims["sid"] == first_claims["sid"] and claims["auth_time"] == first_claims["auth_time"]
    assert claims["amr"] == ["pwd"]
    events = audit_events(runtime, EventType.OIDC_AUTHORIZED)
    assert [e.details["via"] for e in events] == ["sign-in", "sso"]


def test_the_provider_session_cookie_is_httponly_and_lax(auth_app, rp, member):
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    answer = browser.sign_in(request, member["email"], PASSWORD)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("idp_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


def test_behind_https_the_cookies_are_secure_and_host_prefixed(auth_app, rp, member, runtime):
    browser = Browser(auth_app)
    browser.client.base_url = "https://testserver"
    request = Authorization.with_pkce(rp["id"])
    page = browser.authorize(request)
    assert any(
        c.startswith("__Host-idp_browser=") and "Secure" in c
        for c in page.headers.get_list("set-cookie")
    )
    form = page.text.split('action="/auth/oidc/sign-in/password"', 1)[1].split("</form>", 1)[0]
    from tests.auth.oidc_support import HIDDEN

    answer = browser.client.post(
        "/auth/oidc/sign-in/password",
        data={**dict(HIDDEN.findall(form)), "login": member["email"], "password": PASSWORD},
        headers={"Origin": "https://testserver"},
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "idp_session" in c)
    assert cookie.startswith("__Host-idp_session=") and "Secure" in cookie


def test_not_assigned_to_the_second_application_the_user_gets_the_message_and_no_code(
    auth_app, auth_client, admin, admin_auth, rp, member
):
    browser, _, _ = _signed_in(auth_app, auth_client, rp, member)
    app, _ = make_app_with_key(admin)
    register_client(admin_auth, app["id"])
    page = browser.authorize(Authorization.with_pkce(app["id"]))
    assert page.status_code == 200 and "location" not in page.headers
    assert "You are not allowed to access this application. Contact Administrator." in page.text


def test_prompt_login_asks_again_and_prompt_none_never_shows_a_page(
    auth_app, auth_client, rp, member
):
    browser, _, _ = _signed_in(auth_app, auth_client, rp, member)
    again = browser.authorize(Authorization.with_pkce(rp["id"], extra={"prompt": "login"}))
    assert again.status_code == 200 and "Password login" in again.text
    stranger = Browser(auth_app)
    silent = Authorization.with_pkce(rp["id"], extra={"prompt": "none"})
    assert returned(stranger.authorize(silent), silent)["error"] == "login_required"


def test_the_provider_session_is_listed_and_ending_it_there_signs_the_user_out(
    auth_app, auth_client, admin_auth, rp, member, runtime
):
    browser, _, _ = _signed_in(auth_app, auth_client, rp, member)
    listed = admin_auth.get(f"/auth/admin/users/{member['auth_user_id']}/sessions").json()["items"]
    (sso,) = [s for s in listed if s["kind"] == "sso"]
    assert any(s["kind"] == "app" for s in listed)
    counts = admin_auth.get(
        "/auth/admin/activity", params={"user_id": member["auth_user_id"]}
    ).json()["counts"]
    assert counts[member["auth_user_id"]]["active_sessions"] == 2
    assert admin_auth.delete(f"/auth/admin/sessions/{sso['session_id']}").status_code == 204
    page = browser.authorize(Authorization.with_pkce(rp["id"]))
    assert page.status_code == 200 and "Password login" in page.text


@pytest.mark.parametrize("change", ["disable", "password"])
def test_disabling_or_a_new_password_ends_the_provider_session(
    auth_app, auth_client, admin, rp, member, runtime, change
):
    browser, _, _ = _signed_in(auth_app, auth_client, rp, member)
    body = {"status": "disabled"} if change == "disable" else {"password": "quiet-meadow-lantern-9"}
    admin.patch(f"/directory/users/{member['auth_user_id']}", json=body)
    wait_for(
        lambda: all(r.revoked_at is not None for r in _sso_rows(runtime, member["auth_user_id"]))
    )
    page = browser.authorize(Authorization.with_pkce(rp["id"]))
    assert page.status_code == 200 and "location" not in page.headers


def test_unassigning_ends_that_applications_sessions_but_not_the_provider_session(
    auth_app, auth_client, admin, rp, second_rp, member, runtime
):
    browser, _, tokens = _signed_in(auth_app, auth_client, rp, member)
    assign(admin, member["auth_user_id"], [second_rp["id"]])
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    wait_for(lambda: auth_client.get("/auth/oidc/userinfo", headers=bearer).status_code == 401)
    request = Authorization.with_pkce(second_rp["id"])
    assert returned(browser.authorize(request), request)["code"]  # still signed in there


def test_logout_with_an_id_token_hint_ends_everything_and_returns_to_the_application(
    auth_app, auth_client, rp, member, runtime
):
    browser, _, tokens = _signed_in(auth_app, auth_client, rp, member)
    response = browser.client.get(
        "/auth/oidc/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": LOGOUT_REDIRECT,
            "state": "bye",
        },
    )
    assert response.status_code == 302
    assert response.headers["location"] == f"{LOGOUT_REDIRECT}?state=bye"
    assert 'idp_session=""' in response.headers["set-cookie"]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert auth_client.get("/auth/oidc/userinfo", headers=bearer).status_code == 401
    (event,) = audit_events(runtime, EventType.OIDC_LOGOUT)
    assert event.details["sessions_ended"] == 2
    page = browser.authorize(Authorization.with_pkce(rp["id"]))
    assert "Password login" in page.text


def test_logout_without_a_hint_asks_first(auth_app, auth_client, rp, member, runtime):
    browser, _, tokens = _signed_in(auth_app, auth_client, rp, member)
    confirm = browser.client.get("/auth/oidc/logout")
    assert confirm.status_code == 200 and "Sign out of" in confirm.text
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert auth_client.get("/auth/oidc/userinfo", headers=bearer).status_code == 200  # not yet
    forged = browser.client.post(
        "/auth/oidc/logout", data={"csrf_token": "x"}, headers={"Origin": "http://testserver"}
    )
    assert "Sign out of" in forged.text  # asked again, nothing ended
    assert auth_client.get("/auth/oidc/userinfo", headers=bearer).status_code == 200
    done = browser.submit(confirm, "/auth/oidc/logout")
    assert done.status_code == 200 and "You are signed out" in done.text
    assert auth_client.get("/auth/oidc/userinfo", headers=bearer).status_code == 401
