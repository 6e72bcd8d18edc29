"""The console's defences: CSRF token, Origin check, cookie attributes, headers, no GET writes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shared.models import Application, UserAccount
from tests.conftest import PEER
from tests.console.support import (
    PASSWORD,
    csrf_token,
    post_form,
    rewrite_session,
    sign_in,
    stored_session,
)


def application_count(runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Application)) or 0)


def test_a_post_without_the_csrf_token_is_refused(signed_in, runtime):
    response = signed_in.post(
        "/setup/applications", data={"name": "Sneaky", "allowed_ips": "10.0.0.0/8"}
    )
    assert response.status_code == 403
    assert "Reload the page and try again." in response.text
    assert application_count(runtime) == 0


def test_a_post_with_another_sessions_token_is_refused(signed_in, runtime):
    other = TestClient(signed_in.app, client=PEER)
    foreign_token = csrf_token(other.get("/setup").text)
    response = signed_in.post(
        "/setup/applications",
        data={"csrf_token": foreign_token, "name": "Sneaky", "allowed_ips": "10.0.0.0/8"},
    )
    assert response.status_code == 403
    assert application_count(runtime) == 0


def test_a_post_from_a_foreign_origin_is_refused_even_with_the_token(signed_in, runtime):
    data = {"name": "Sneaky", "allowed_ips": "10.0.0.0/8"}
    for origin in ("http://evil.example", "null"):
        response = post_form(signed_in, "/setup/applications", data, headers={"Origin": origin})
        assert response.status_code == 403
    referred = post_form(
        signed_in, "/setup/applications", data, headers={"Referer": "http://evil.example/x"}
    )
    assert referred.status_code == 403
    assert application_count(runtime) == 0
    same = post_form(
        signed_in, "/setup/applications", data, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 303
    assert application_count(runtime) == 1


def test_state_never_changes_over_get(signed_in):
    assert signed_in.get("/setup/sign-out").status_code == 405
    assert signed_in.get("/setup/audit/purge").status_code == 405
    assert signed_in.get("/setup/docs").status_code == 200  # still signed in


def test_the_session_cookie_is_httponly_and_samesite_lax(console):
    response = console.get("/setup")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("console_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP (dev): a Secure cookie would never come back


def test_over_https_the_cookie_is_host_prefixed_and_secure(whole_system):
    with TestClient(whole_system, base_url="https://testserver", client=PEER) as client:
        cookie = client.get("/setup").headers["set-cookie"]
    assert cookie.startswith("__Host-console_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie


def test_security_headers_on_pages_and_assets(console):
    for path in ("/setup", "/console/static/console.js", "/console/branding.css"):
        headers = console.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
    assert console.get("/setup").headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script_or_handlers(signed_in):
    for path in ("/setup/applications", "/setup/directory", "/setup/audit", "/setup/otp"):
        html = signed_in.get(path).text
        assert "<script>" not in html and "<script " not in html.replace(
            '<script src="/console/static/console.js" defer>', ""
        )
        assert " onclick=" not in html and " onsubmit=" not in html and "javascript:" not in html


def test_the_session_store_holds_no_readable_token(signed_in, runtime):
    key, data = stored_session(runtime, signed_in)
    raw = str(runtime.redis.get(key))
    assert data["access_token"] and data["access_token"] not in raw
    assert signed_in.cookies.get("console_session") not in key


def test_an_idle_session_expires(signed_in, runtime):
    key, data = stored_session(runtime, signed_in)
    assert 0 < runtime.redis.ttl(key) <= runtime.settings.console_session_idle_seconds
    idle = runtime.settings.console_session_idle_seconds
    rewrite_session(runtime, signed_in, last_seen_at=data["last_seen_at"] - idle - 5)
    assert signed_in.get("/setup/directory").status_code == 303
    assert runtime.redis.get(key) is None


def test_a_session_past_its_maximum_age_expires(signed_in, runtime):
    _, data = stored_session(runtime, signed_in)
    too_old = data["created_at"] - runtime.settings.console_session_max_seconds - 5
    rewrite_session(runtime, signed_in, created_at=too_old)
    assert signed_in.get("/setup/applications").status_code == 303


def test_an_expiring_access_token_is_refreshed_quietly(signed_in, runtime):
    _, before = stored_session(runtime, signed_in)
    rewrite_session(runtime, signed_in, access_expires_at=0)
    assert signed_in.get("/setup/access").status_code == 200
    _, after = stored_session(runtime, signed_in)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]


def test_an_administrator_who_loses_the_role_is_signed_out(signed_in, runtime, console_admin):
    with runtime.session_factory() as session:
        session.get(UserAccount, console_admin.id).is_admin = False
        session.commit()
    response = signed_in.get("/setup/directory")
    assert response.status_code == 303
    assert "Administrator access only." in signed_in.get("/setup").text
    assert signed_in.get("/setup/docs").status_code == 303


def test_a_session_revoked_at_the_auth_service_signs_the_console_out(signed_in, runtime):
    _, data = stored_session(runtime, signed_in)
    revoked = signed_in.post(
        "/auth/admin/logout", headers={"Authorization": f"Bearer {data['access_token']}"}
    )
    assert revoked.status_code == 200
    assert signed_in.get("/setup/applications").status_code == 303
    assert signed_in.get("/setup/docs").status_code == 303


def test_sign_in_form_itself_needs_the_token(console, console_admin):
    console.get("/setup")
    response = console.post(
        "/setup/sign-in", data={"login": console_admin.email, "password": PASSWORD}
    )
    assert response.status_code == 403
    sign_in(console, console_admin.email, PASSWORD)
