"""The user's own account page: signed in through the hosted page; second factors, recovery
codes, password, sessions and devices; every change audited; CSRF and freshness guarded."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import update

from auth.mfa import factors
from shared.audit import EventType
from shared.models import AuthSession
from shared.models.base import utcnow
from tests.auth.mfa_support import enrol_totp
from tests.auth.oidc_support import Browser
from tests.auth.support import PASSWORD, audit_events, error_of
from tests.auth.test_passkeys import ORIGIN, register_passkey

NEW_PASSWORD = "quiet-lantern-orchard-93"


class AccountBrowser(Browser):
    page = None

    def open(self):
        self.page = self.client.get("/account")
        assert self.page.status_code == 200, self.page.text
        return self.page

    def sign_in(self, login: str, password: str = PASSWORD):  # type: ignore[override]
        page = self.open()
        assert "Sign in to your account" in page.text
        done = self.submit(page, "/auth/oidc/sign-in/password", login=login, password=password)
        assert done.status_code == 303 and done.headers["location"] == "/account", done.text
        return self.open()

    def post_with_token(self, action: str, **fields: str):
        """A post the page has no form for (a crafted one), with the page's token."""
        assert self.page is not None
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.page.text).group(1)
        return self.client.post(action, data={"csrf_token": token, **fields}, headers=ORIGIN)

    def post(self, action: str, **fields: str):
        assert self.page is not None
        answer = self.submit(self.page, action, **fields)
        if answer.status_code == 200 or answer.status_code >= 400:
            self.page = answer
        return answer


@pytest.fixture
def account(auth_app, member) -> AccountBrowser:
    browser = AccountBrowser(auth_app)
    page = browser.sign_in(member["email"])
    assert member["name"] in page.text and "Single sign-on (this page)" in page.text
    return browser


def test_an_authenticator_app_enrolled_on_the_account_page(account, caller, member, runtime):
    started = account.post("/account/totp/start")
    assert started.status_code == 200 and 'id="totp-qr"' in started.text
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', started.text).group(1).replace(" ", "")
    wrong = account.post("/account/totp/confirm", code="000000")
    assert wrong.status_code == 400 and 'id="totp-qr"' in wrong.text
    generator = pyotp.TOTP(secret)
    done = account.post("/account/totp/confirm", code=generator.now())
    assert done.status_code == 200 and "Your authenticator app is set up." in done.text
    assert len(re.findall(r"<li><code>[a-z0-9-]+</code></li>", done.text)) == 10
    (enrolled,) = audit_events(runtime, EventType.MFA_ENROLLED)
    assert enrolled.actor_type == "user" and enrolled.details["audience"] == "account"
    # From now on, the REST sign-in asks for it.
    challenge = caller.login(member["email"]).json()
    assert challenge["methods"] == ["totp", "recovery_code", "otp"]
    body = {
        "mfa_challenge_id": challenge["mfa_challenge_id"],
        "method": "totp",
        "code": pyotp.TOTP(secret).at(generator.timecode(__import__("time").time()) * 30 + 30),
    }
    assert caller.post("/auth/mfa/verify", body).status_code == 200


def test_the_last_factor_of_a_required_sign_in_cannot_be_removed(
    account, admin, member, runtime, monkeypatch
):
    enrol_totp(runtime, member["auth_user_id"])
    monkeypatch.setattr(runtime.settings, "mfa_otp_counts", False)
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"mfa_enabled": True})
    account.open()
    refused = account.post("/account/totp/remove")
    assert refused.status_code == 409 and "add another before removing it" in refused.text
    register_passkey(runtime, member["auth_user_id"])
    account.open()
    assert account.post("/account/totp/remove").status_code == 200
    with runtime.session_factory() as db:
        assert factors.enrolled(db, uuid.UUID(member["auth_user_id"])).totp is False
    (removed,) = audit_events(runtime, EventType.MFA_REMOVED)
    assert removed.details["method"] == "totp"


def test_passkeys_are_named_renamed_and_removed(account, member, runtime):
    register_passkey(runtime, member["auth_user_id"])
    page = account.open()
    passkey_id = re.search(r'data-passkey-id="([0-9a-f-]+)"', page.text).group(1)
    renamed = account.post("/account/passkeys/rename", passkey_id=passkey_id, name="Work laptop")
    assert renamed.status_code == 200 and 'value="Work laptop"' in renamed.text
    removed = account.post("/account/passkeys/remove", passkey_id=passkey_id)
    assert removed.status_code == 200 and "No passkeys yet." in removed.text
    # Another user's passkey is nobody's to remove here.
    assert (
        account.post_with_token(
            "/account/passkeys/remove", passkey_id=str(uuid.uuid4())
        ).status_code
        == 404
    )


def test_new_recovery_codes_void_the_old_ones(account, caller, member, runtime):
    enrol_totp(runtime, member["auth_user_id"])
    account.open()
    first = re.findall(
        r"<li><code>([a-z0-9-]+)</code></li>", account.post("/account/recovery-codes").text
    )
    second = re.findall(
        r"<li><code>([a-z0-9-]+)</code></li>", account.post("/account/recovery-codes").text
    )
    assert len(first) == len(second) == 10 and not set(first) & set(second)
    challenge = caller.login(member["email"]).json()
    old = {
        "mfa_challenge_id": challenge["mfa_challenge_id"],
        "method": "recovery_code",
        "code": first[0],
    }
    assert error_of(caller.post("/auth/mfa/verify", old)) == (401, "invalid_mfa_code")
    assert caller.post("/auth/mfa/verify", {**old, "code": second[0]}).status_code == 200
    assert "9 unused recovery codes left." in account.open().text


def test_a_stale_sign_in_must_sign_in_again_to_change_factors(account, member, runtime):
    with runtime.session_factory() as db:
        db.execute(
            update(AuthSession)
            .where(AuthSession.user_id == uuid.UUID(member["auth_user_id"]))
            .values(created_at=utcnow() - timedelta(minutes=16))
        )
        db.commit()
    account.open()
    refused = account.post("/account/totp/start")
    assert refused.status_code == 403 and 'id="sign-in-again"' in refused.text
    options = account.post_with_token("/account/passkeys/options")
    assert options.status_code == 403 and options.json()["error"]["code"] == "sign_in_again"
    again = account.client.get("/account?sign-in=again")
    assert "Sign in to your account" in again.text
    before = re.search(r'data-session-id="([^"]+)"', account.open().text).group(1)
    account.page = again
    done = account.submit(
        again, "/auth/oidc/sign-in/password", login=member["email"], password=PASSWORD
    )
    assert done.status_code == 303
    fresh = account.open()
    # The same provider session, signed in again: the sessions it gave stay tied to it.
    assert re.findall(r'data-session-id="([^"]+)"', fresh.text) == [before]
    assert account.post("/account/totp/start").status_code == 200


def test_a_form_without_its_token_or_from_another_site_changes_nothing(account, member, runtime):
    page = account.open()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    forged = account.client.post(
        "/account/totp/start", data={"csrf_token": "x" * len(token)}, headers=ORIGIN
    )
    assert forged.status_code == 400 and "expired" in forged.text
    cross = account.client.post(
        "/account/totp/start",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    with runtime.session_factory() as db:
        from shared.models import TotpFactor

        assert db.get(TotpFactor, uuid.UUID(member["auth_user_id"])) is None


def test_changing_the_password_ends_the_other_sessions(account, caller, member, runtime):
    app_session = caller.signed_in(member["email"])
    wrong = account.post(
        "/account/password",
        current_password="nope-nope-nope",
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    assert wrong.status_code == 401 and "The current password is incorrect." in wrong.text
    weak = account.post(
        "/account/password",
        current_password=PASSWORD,
        new_password="password1234",
        confirm_password="password1234",
    )
    assert weak.status_code == 422
    differ = account.post(
        "/account/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD + "x",
    )
    assert differ.status_code == 422 and "differ" in differ.text
    done = account.post(
        "/account/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    assert (
        done.status_code == 200 and "Your password was changed. 1 other session ended." in done.text
    )
    assert error_of(caller.session(app_session["access_token"]))[0] == 401
    assert caller.login(member["email"], NEW_PASSWORD).status_code == 200
    assert account.open().status_code == 200  # this page's own session stays
    (changed,) = audit_events(runtime, EventType.PASSWORD_CHANGED)
    assert changed.details["sessions_revoked"] == 1


def test_signing_out_another_session_and_all_others(account, caller, member):
    one = caller.signed_in(member["email"])
    two = caller.signed_in(member["email"])
    account.open()
    ended = account.post("/account/sessions/end", session_id=one["session"]["session_id"])
    assert ended.status_code == 200 and "The session was signed out." in ended.text
    assert caller.session(one["access_token"]).status_code == 401
    assert caller.session(two["access_token"]).status_code == 200
    assert "1 other session signed out." in account.post("/account/sessions/end-others").text
    assert caller.session(two["access_token"]).status_code == 401


def test_signing_out_of_the_account_page(account):
    account.open()
    out = account.post("/account/sign-out")
    assert out.status_code == 303
    assert "Sign in to your account" in account.client.get("/account").text


def test_the_account_sign_in_asks_for_the_second_factor(auth_app, member, runtime):
    generator = enrol_totp(runtime, member["auth_user_id"])
    browser = AccountBrowser(auth_app)
    page = browser.open()
    second = browser.submit(
        page, "/auth/oidc/sign-in/password", login=member["email"], password=PASSWORD
    )
    assert second.status_code == 200 and 'id="second-totp"' in second.text
    done = browser.submit(second, "/auth/oidc/sign-in/second-factor", code=generator.now())
    assert done.status_code == 303 and done.headers["location"] == "/account"


def test_the_page_is_not_cached_and_has_the_console_s_headers(account):
    page = account.open()
    assert page.headers["cache-control"].startswith("no-store")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    script = account.client.get("/auth/static/passkeys.js")
    assert script.status_code == 200 and "navigator.credentials" in script.text
