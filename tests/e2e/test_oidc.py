"""OpenID Connect through Traefik, driven by a real relying party (Authlib's client) in a
headless Chromium: password and OTP sign-in, the ID token checked against the JWKS,
userinfo, refresh, logout, single sign-on into a second application, a public client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import World
from tests.e2e.relying_party import RelyingParty, reserve, serving
from tests.e2e.support import PASSWORD, audit_events, created, make_app, sms_code
from tests.otp_delivery.sinks import HttpSink


@pytest.fixture(scope="module")
def parties(gateway_url: str, admin: httpx.Client, world: World) -> Iterator[dict[str, Any]]:
    """Three relying parties: Payroll (confidential), Wiki (confidential; Alice assigned),
    and a browser app (public), each a registered client with its redirect URIs."""
    discovery = f"{gateway_url}/.well-known/openid-configuration"
    payroll, wiki, spa = reserve("payroll", "wiki", "spa")
    wiki_app, _ = make_app(admin, "Wiki", ["127.0.0.1/32"])
    spa_app, _ = make_app(admin, "Board", ["127.0.0.1/32"])
    assigned = {"application_ids": [world.app["id"], wiki_app["id"], spa_app["id"]]}
    alice = world.alice["auth_user_id"]
    created(admin.put(f"/directory/users/{alice}/applications", json=assigned))
    clients = {}
    for party, app_id, kind in (
        (payroll, world.app["id"], "confidential"),
        (wiki, wiki_app["id"], "confidential"),
        (spa, spa_app["id"], "public"),
    ):
        body = {
            "client_type": kind,
            "redirect_uris": [party.redirect_uri],
            "post_logout_redirect_uris": [party.signed_out_uri],
        }
        settings = created(admin.put(f"/auth/admin/oidc/clients/{app_id}", json=body))
        clients[party.name] = (app_id, settings.get("client_secret"))
    with (
        serving(payroll, discovery, *clients["payroll"]),
        serving(wiki, discovery, *clients["wiki"]),
        serving(spa, discovery, *clients["spa"]),
    ):
        yield {"payroll": payroll, "wiki": wiki, "spa": spa, "clients": clients}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()


def _sign_in_with_password(page: Page, party: RelyingParty, login: str) -> None:
    page.goto(f"{party.base_url}/login")
    page.wait_for_selector("#password-form")
    assert "Sign in to" in page.inner_text("h1")
    page.fill("#password-form input[name=login]", login)
    page.fill("#password-form input[name=password]", PASSWORD)
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#who")


def test_password_sign_in_userinfo_refresh_sso_and_logout(
    page: Page, parties: dict[str, Any], world: World, admin: httpx.Client
) -> None:
    payroll, wiki = parties["payroll"], parties["wiki"]
    _sign_in_with_password(page, payroll, "alice@example.com")
    assert page.inner_text("#who") == "Signed in to payroll as Alice Able"
    got = payroll.signed_in[-1]
    assert got["userinfo"]["sub"] == world.alice["auth_user_id"]
    assert got["userinfo"]["email"] == "alice@example.com"
    assert got["token"]["userinfo"]["nonce"]  # the ID token Authlib validated, with its nonce

    page.goto(f"{payroll.base_url}/refresh")
    assert page.inner_text("#refreshed") == "refreshed"

    # Single sign-on: the second application never shows a password page.
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url))
    page.goto(f"{wiki.base_url}/login")
    page.wait_for_selector("#who")
    assert page.inner_text("#who") == "Signed in to wiki as Alice Able"
    assert not any("/auth/oidc/sign-in" in url for url in seen)
    sso_sid = wiki.signed_in[-1]["token"]["userinfo"]["sid"]
    assert sso_sid == payroll.signed_in[0]["token"]["userinfo"]["sid"]

    page.goto(f"{payroll.base_url}/logout")
    page.wait_for_selector("#signed-out")
    events = audit_events(admin, type="oidc.logout")
    assert events[0]["details"]["sessions_ended"] >= 2
    # Signed out at the provider: the next sign-in asks for the password again.
    page.goto(f"{wiki.base_url}/login")
    page.wait_for_selector("#password-form")


def test_otp_sign_in_with_the_code_from_the_sms_sink(
    page: Page, parties: dict[str, Any], world: World, sms_sink: HttpSink, admin: httpx.Client
) -> None:
    # A user of its own: the resend cooldown of Alice's code from the login-flow tests
    # would still be running.
    payroll, mobile = parties["payroll"], "+14155550177"
    body = {"name": "Dora Dean", "mobile_number": mobile, "application_ids": [world.app["id"]]}
    created(admin.post("/directory/users", json=body))
    page.goto(f"{payroll.base_url}/login")
    page.fill("#otp-form input[name=login]", mobile)
    page.click("#otp-form button[type=submit]")
    page.wait_for_selector("#code-form")
    code = sms_code(sms_sink, mobile)
    page.fill("#code-form input[name=code]", code)
    page.click("#code-form button[type=submit]")
    page.wait_for_selector("#who")
    assert payroll.signed_in[-1]["token"]["userinfo"]["amr"] == ["otp"]


def test_a_public_client_signs_in_with_pkce_refreshes_and_logs_out_without_a_secret(
    page: Page, parties: dict[str, Any], world: World
) -> None:
    spa = parties["spa"]
    _sign_in_with_password(page, spa, "alice@example.com")
    got = spa.signed_in[-1]
    assert got["token"]["refresh_token"]
    assert got["token"]["userinfo"]["aud"] == parties["clients"]["spa"][0]
    assert got["userinfo"]["sub"] == world.alice["auth_user_id"]
    page.goto(f"{spa.base_url}/refresh")
    assert page.inner_text("#refreshed") == "refreshed"
    page.goto(f"{spa.base_url}/logout")
    page.wait_for_selector("#signed-out")


def test_the_seeds_messages_at_the_hosted_page(page: Page, parties: dict[str, Any]) -> None:
    payroll = parties["payroll"]
    for login, message in (
        ("nobody@example.com", "User not in the directory service."),
        (
            "carol@example.com",
            "You are not allowed to access this application. Contact Administrator.",
        ),
    ):
        page.goto(f"{payroll.base_url}/login")
        page.fill("#otp-form input[name=login]", login)
        page.click("#otp-form button[type=submit]")
        assert page.inner_text("#sign-in-error") == message


def test_rotation_under_traffic_every_token_verifies_offline_and_with_the_service(
    gateway_url: str, admin: httpx.Client, caller: Any, world: World
) -> None:
    """Sign-ins keep coming while the keys rotate twice; a relying party with a cached JWKS
    (PyJWT's client) verifies every token, fetching the set again only for a new kid."""
    fetches: list[int] = []

    class CountingClient(jwt.PyJWKClient):
        def fetch_data(self) -> Any:
            fetches.append(1)
            return super().fetch_data()

    keys = CountingClient(f"{gateway_url}/.well-known/jwks.json", cache_keys=False, lifespan=300)
    tokens: list[str] = []
    stop = threading.Event()

    def sign_ins() -> None:
        while not stop.is_set() and len(tokens) < 60:
            answer = caller.post(
                "/auth/login", {"login": "alice@example.com", "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            tokens.append(answer.json()["access_token"])

    traffic = threading.Thread(target=sign_ins)
    traffic.start()
    try:
        for rotation in range(2):
            while len(tokens) < 5 * (rotation + 1):
                time.sleep(0.05)
            created(admin.post("/auth/admin/signing-keys/rotate", json={}))
            time.sleep(1.2)  # every replica has heard of it
    finally:
        stop.set()
        traffic.join(60)
    kids = {jwt.get_unverified_header(t)["kid"] for t in tokens}
    assert len(kids) >= 2  # the traffic crossed at least one rotation
    for token in tokens:
        key = keys.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=world.app["id"])
        assert claims["sub"] == world.alice["auth_user_id"]
        assert caller.session(token).status_code == 200
    # The first fetch already held the first rotation's key (published as next before it
    # signed); only the key the second rotation made needed one more fetch.
    assert len(fetches) <= 2


def test_bad_requests_through_traefik_get_an_error_page_never_a_redirect(
    page: Page, gateway_url: str, parties: dict[str, Any]
) -> None:
    client_id = parties["clients"]["payroll"][0]
    for query in (
        f"client_id={client_id}&response_type=code&redirect_uri=https://evil.example/cb",
        "client_id=unknown&response_type=code&redirect_uri=https://evil.example/cb",
    ):
        response = page.goto(f"{gateway_url}/auth/oidc/authorize?{query}&scope=openid")
        assert response is not None and response.status == 400
        assert page.url.startswith(gateway_url)  # still at the provider
        assert page.inner_text("#oidc-error h1") in (
            "This sign-in request is not valid",
            "Unknown application",
        )
