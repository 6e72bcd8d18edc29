"""Passkeys at the hosted page, checked one property at a time with a software authenticator
(tests/auth/webauthn_soft.py): origin, RP ID, challenge, counter, user verification, user
handle. Chromium's own virtual authenticator runs them end to end in tests/browser."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from auth.mfa import passkeys
from shared.audit import EventType
from shared.models import PasskeyCredential, UserAccount
from shared.runtime import Runtime
from tests.auth.oidc_support import (
    HIDDEN,
    Authorization,
    Browser,
    exchange,
    returned,
    verify_id_token,
)
from tests.auth.support import PASSWORD, audit_events
from tests.auth.webauthn_soft import SoftAuthenticator
from tests.factories import make_user

ORIGIN = {"Origin": "http://testserver"}
SIGN_IN = "/auth/oidc/sign-in/passkey"


def register_passkey(runtime: Runtime, user_id: str, **kwargs) -> SoftAuthenticator:
    """A passkey registered for the user (as the account page does) and its authenticator."""
    rp = passkeys.relying_party(runtime, "Identity Services")
    authenticator = SoftAuthenticator(rp.id, rp.origin, **kwargs)
    with runtime.session_factory() as db:
        user = db.get(UserAccount, uuid.UUID(user_id))
        options, challenge = passkeys.registration_options(db, rp, user)
        answer = authenticator.create(json.loads(options))
        passkeys.register(db, rp, user, challenge, answer, "Test key")
        db.commit()
    return authenticator


def stored_counter(runtime: Runtime, authenticator: SoftAuthenticator) -> int:
    with runtime.session_factory() as db:
        rows = db.query(PasskeyCredential).all()
        (row,) = [r for r in rows if r.user_id.bytes == authenticator.user_handle]
        return row.sign_count


def use_passkey(
    browser: Browser, page: httpx.Response, authenticator: SoftAuthenticator, **answer
) -> httpx.Response:
    """What passkeys.js does: fetch the options, let the authenticator sign, post the form."""
    form = page.text.split(f'action="{SIGN_IN}"', 1)[1].split("</form>", 1)[0]
    hidden = dict(HIDDEN.findall(form))
    options = browser.client.post(f"{SIGN_IN}/options", data=hidden, headers=ORIGIN)
    assert options.status_code == 200, options.text
    credential = authenticator.get(options.json(), **answer)
    return browser.client.post(SIGN_IN, data={**hidden, "credential": credential}, headers=ORIGIN)


@pytest.fixture
def key(runtime, member) -> SoftAuthenticator:
    return register_passkey(runtime, member["auth_user_id"])


def second_step(auth_app, rp, member) -> tuple[Browser, Authorization, httpx.Response]:
    browser, request = Browser(auth_app), Authorization.with_pkce(rp["id"])
    page = browser.sign_in(request, member["email"], PASSWORD)
    assert page.status_code == 200 and "Second step" in page.text, page.text
    assert 'id="second-passkey"' in page.text
    return browser, request, page


def test_a_passkey_as_the_second_factor(auth_app, auth_client, rp, member, key, runtime):
    browser, request, page = second_step(auth_app, rp, member)
    back = returned(use_passkey(browser, page, key), request)
    tokens = exchange(auth_client, request, back["code"], rp["secret"]).json()
    assert verify_id_token(auth_client, tokens["id_token"], request)["amr"] == ["pwd", "hwk", "mfa"]
    assert stored_counter(runtime, key) == 1


def test_a_passkey_alone_signs_in_when_it_verified_the_user(auth_app, auth_client, rp, member, key):
    browser, request = Browser(auth_app), Authorization.with_pkce(rp["id"])
    page = browser.authorize(request)
    back = returned(use_passkey(browser, page, key), request)
    tokens = exchange(auth_client, request, back["code"], rp["secret"]).json()
    claims = verify_id_token(auth_client, tokens["id_token"], request)
    assert claims["sub"] == member["auth_user_id"] and claims["amr"] == ["hwk", "user", "mfa"]


def test_without_user_verification_it_is_only_a_second_factor(auth_app, rp, member, runtime):
    key = register_passkey(runtime, member["auth_user_id"], user_verified=False)
    browser = Browser(auth_app)
    alone = use_passkey(browser, browser.authorize(Authorization.with_pkce(rp["id"])), key)
    assert alone.status_code == 401 and "could not be verified" in alone.text
    browser, request, page = second_step(auth_app, rp, member)
    assert returned(use_passkey(browser, page, key), request)["code"]


@pytest.mark.parametrize(
    "answer",
    [{"origin": "https://auth.example.evil"}, {"rp_id": "example.evil"}],
    ids=["another origin", "another RP ID"],
)
def test_an_answer_made_for_another_site_is_refused(auth_app, rp, member, key, answer, runtime):
    browser, _, page = second_step(auth_app, rp, member)
    refused = use_passkey(browser, page, key, **answer)
    assert refused.status_code == 401 and "location" not in refused.headers
    (failed,) = audit_events(runtime, EventType.MFA_VERIFY_FAILED)
    assert failed.details["method"] == "passkey" and failed.details["reason"] == "refused"


def test_a_challenge_is_used_once(auth_app, rp, member, key):
    browser, _, page = second_step(auth_app, rp, member)
    form = page.text.split(f'action="{SIGN_IN}"', 1)[1].split("</form>", 1)[0]
    hidden = dict(HIDDEN.findall(form))
    options = browser.client.post(f"{SIGN_IN}/options", data=hidden, headers=ORIGIN).json()
    answer = key.get(options)
    assert (
        browser.client.post(
            SIGN_IN, data={**hidden, "credential": answer}, headers=ORIGIN
        ).status_code
        == 302
    )
    # A signed answer to someone else's (or an older) challenge is refused.
    browser, _, page = second_step(auth_app, rp, member)
    stale = use_passkey(browser, page, key, challenge=options["challenge"])
    assert stale.status_code == 401


def test_a_counter_that_goes_back_is_refused_and_audited(auth_app, rp, member, key, runtime):
    for _ in range(3):
        browser, request, page = second_step(auth_app, rp, member)
        returned(use_passkey(browser, page, key), request)
    assert stored_counter(runtime, key) == 3
    browser, _, page = second_step(auth_app, rp, member)
    cloned = use_passkey(browser, page, key, counter=2)  # a copy, behind the original
    assert cloned.status_code == 401 and "counter went back" in cloned.text
    assert stored_counter(runtime, key) == 3
    (event,) = audit_events(runtime, EventType.PASSKEY_COUNTER_REGRESSED)
    assert event.subject_user_id == member["auth_user_id"] and event.outcome.value == "denied"
    assert (event.details["stored_counter"], event.details["reported_counter"]) == (3, 2)


def test_a_passkey_of_another_user_is_no_second_factor(
    admin, auth_app, rp, member, key, runtime, application
):
    other = make_user(admin, password=PASSWORD, applications=[application[0]["id"]])
    register_passkey(runtime, other["auth_user_id"])
    browser, _, page = second_step(auth_app, rp, other)
    assert use_passkey(browser, page, key).status_code == 401  # member's key, other's sign-in


def test_a_passwordless_user_must_still_be_assigned(admin, auth_app, rp, member, key):
    admin.put(
        f"/directory/users/{member['auth_user_id']}/applications", json={"application_ids": []}
    )
    browser = Browser(auth_app)
    answer = use_passkey(browser, browser.authorize(Authorization.with_pkce(rp["id"])), key)
    assert answer.status_code == 403 and "not allowed to access this application" in answer.text


def test_a_malformed_answer_is_a_refusal_not_an_error(auth_app, rp, member, key):
    browser, _, page = second_step(auth_app, rp, member)
    form = page.text.split(f'action="{SIGN_IN}"', 1)[1].split("</form>", 1)[0]
    hidden = dict(HIDDEN.findall(form))
    for credential in [
        "",
        "{",
        "[]",
        json.dumps({"id": "x" * 600}),
        json.dumps({"id": 1, "response": 2}),
    ]:
        browser.client.post(f"{SIGN_IN}/options", data=hidden, headers=ORIGIN)
        answer = browser.client.post(
            SIGN_IN, data={**hidden, "credential": credential}, headers=ORIGIN
        )
        assert answer.status_code in (400, 401), (credential, answer.status_code)


def test_registration_checks_the_origin_too(runtime, member):
    rp = passkeys.relying_party(runtime, "Identity Services")
    authenticator = SoftAuthenticator(rp.id, rp.origin)
    with runtime.session_factory() as db:
        user = db.get(UserAccount, uuid.UUID(member["auth_user_id"]))
        options, challenge = passkeys.registration_options(db, rp, user)
        answer = authenticator.create(json.loads(options), origin="https://auth.example.evil")
        with pytest.raises(passkeys.PasskeyNotRegistered):
            passkeys.register(db, rp, user, challenge, answer, "Phished")
