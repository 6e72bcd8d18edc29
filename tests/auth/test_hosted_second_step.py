"""The hosted sign-in page's second step: the user's authenticator app, a recovery code or a
code by SMS or email; and, where the sign-in needs one the user lacks, enrolling it first."""

from __future__ import annotations

import re

import pyotp
import pytest

from shared.audit import EventType
from tests.auth.mfa_support import enrol_totp, make_recovery_codes
from tests.auth.oidc_support import (
    HIDDEN,
    Authorization,
    Browser,
    exchange,
    returned,
    verify_id_token,
)
from tests.auth.support import PASSWORD, audit_events
from tests.auth.test_passkeys import ORIGIN
from tests.auth.webauthn_soft import SoftAuthenticator


def signed_in_to_second_step(auth_app, rp, member):
    browser, request = Browser(auth_app), Authorization.with_pkce(rp["id"])
    page = browser.sign_in(request, member["email"], PASSWORD)
    assert page.status_code == 200, page.text
    return browser, request, page


def test_the_authenticator_app_at_the_hosted_page(
    auth_app, auth_client, rp, member, runtime, outbox
):
    generator = enrol_totp(runtime, member["auth_user_id"])
    browser, request, page = signed_in_to_second_step(auth_app, rp, member)
    assert 'id="second-totp"' in page.text and 'id="second-otp"' in page.text
    assert "location" not in page.headers and outbox.tasks == []
    wrong = browser.submit(page, "/auth/oidc/sign-in/second-factor", code="000000")
    assert wrong.status_code == 401 and "incorrect or was already used" in wrong.text
    back = returned(
        browser.submit(wrong, "/auth/oidc/sign-in/second-factor", code=generator.now()), request
    )
    tokens = exchange(auth_client, request, back["code"], rp["secret"]).json()
    assert verify_id_token(auth_client, tokens["id_token"], request)["amr"] == ["pwd", "otp", "mfa"]


def test_a_recovery_code_at_the_hosted_page(auth_app, rp, member, runtime):
    enrol_totp(runtime, member["auth_user_id"])
    codes = make_recovery_codes(runtime, member["auth_user_id"])
    browser, request, page = signed_in_to_second_step(auth_app, rp, member)
    form = page.text.split('id="recovery-form"', 1)[1].split("</form>", 1)[0]
    hidden = dict(HIDDEN.findall(form))
    answer = browser.client.post(
        "/auth/oidc/sign-in/second-factor", data={**hidden, "code": codes[0]}, headers=ORIGIN
    )
    assert returned(answer, request)["code"]


def test_a_code_by_email_instead_of_the_app(auth_app, rp, member, runtime, outbox):
    enrol_totp(runtime, member["auth_user_id"])
    browser, request, page = signed_in_to_second_step(auth_app, rp, member)
    sent = browser.submit(page, "/auth/oidc/sign-in/second-code", channel="email")
    assert sent.status_code == 200 and 'id="destination"' in sent.text
    assert outbox.tasks[-1].purpose.value == "mfa"
    assert returned(browser.submit(sent, "/auth/oidc/sign-in/code", code=outbox.secret()), request)


def _enrol_page(auth_app, admin, rp, member, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "mfa_otp_counts", False)
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"mfa_enabled": True})
    browser, request, page = signed_in_to_second_step(auth_app, rp, member)
    assert 'id="enrol-totp"' in page.text and 'id="enrol-passkey"' in page.text
    assert re.search(r'<img src="data:image/svg\+xml[^"]+"', page.text)  # QR made here
    return browser, request, page


def test_nothing_enrolled_means_enrolling_before_finishing(
    auth_app, auth_client, admin, rp, member, runtime, monkeypatch
):
    browser, request, page = _enrol_page(auth_app, admin, rp, member, runtime, monkeypatch)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    wrong = browser.submit(page, "/auth/oidc/sign-in/enrol/totp", code="000000")
    assert wrong.status_code == 400 and 'id="enrol-totp"' in wrong.text
    saved = browser.submit(wrong, "/auth/oidc/sign-in/enrol/totp", code=pyotp.TOTP(secret).now())
    assert saved.status_code == 200 and "location" not in saved.headers
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", saved.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    back = returned(browser.submit(saved, "/auth/oidc/sign-in/continue"), request)
    tokens = exchange(auth_client, request, back["code"], rp["secret"]).json()
    assert verify_id_token(auth_client, tokens["id_token"], request)["amr"] == ["pwd", "otp", "mfa"]
    (enrolled,) = audit_events(runtime, EventType.MFA_ENROLLED)
    assert (
        enrolled.details["method"] == "totp" and enrolled.subject_user_id == member["auth_user_id"]
    )
    assert audit_events(runtime, EventType.MFA_RECOVERY_CODES_GENERATED)


def test_a_passkey_may_be_the_factor_enrolled(auth_app, admin, rp, member, runtime, monkeypatch):
    from auth.mfa import passkeys

    browser, request, page = _enrol_page(auth_app, admin, rp, member, runtime, monkeypatch)
    action = "/auth/oidc/sign-in/enrol/passkey"
    form = page.text.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    hidden = dict(HIDDEN.findall(form))
    options = browser.client.post("/auth/oidc/sign-in/passkey/options", data=hidden, headers=ORIGIN)
    assert options.status_code == 200, options.text
    assert options.json()["attestation"] == "none"
    assert options.json()["authenticatorSelection"]["userVerification"] == "preferred"
    rp_info = passkeys.relying_party(runtime, "x")
    key = SoftAuthenticator(rp_info.id, rp_info.origin)
    credential = key.create(options.json())
    saved = browser.client.post(
        action, data={**hidden, "credential": credential, "name": "Laptop"}, headers=ORIGIN
    )
    assert saved.status_code == 200 and "Save your recovery codes" in saved.text
    assert returned(browser.submit(saved, "/auth/oidc/sign-in/continue"), request)["code"]


def test_a_session_without_a_second_factor_does_not_do_where_one_is_needed(
    auth_app, admin, rp, member, application
):
    browser, request = Browser(auth_app), Authorization.with_pkce(rp["id"])
    returned(browser.sign_in(request, member["email"], PASSWORD), request)
    again = Authorization.with_pkce(rp["id"])
    assert browser.authorize(again).status_code == 302  # single sign-on
    admin.patch(f"/directory/applications/{application[0]['id']}", json={"require_mfa": True})
    asked = browser.authorize(Authorization.with_pkce(rp["id"]))
    assert asked.status_code == 200 and 'id="password-form"' in asked.text


@pytest.mark.parametrize(
    "stage_action",
    [
        "/auth/oidc/sign-in/second-factor",
        "/auth/oidc/sign-in/enrol/totp",
        "/auth/oidc/sign-in/continue",
    ],
)
def test_a_second_step_form_before_the_first_does_nothing(auth_app, rp, stage_action):
    browser = Browser(auth_app)
    page = browser.authorize(Authorization.with_pkce(rp["id"]))
    form = page.text.split('action="/auth/oidc/sign-in/password"', 1)[1].split("</form>", 1)[0]
    hidden = dict(HIDDEN.findall(form))
    answer = browser.client.post(
        stage_action, data={**hidden, "method": "totp", "code": "123456"}, headers=ORIGIN
    )
    assert answer.status_code == 400 and "location" not in answer.headers
