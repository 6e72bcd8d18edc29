"""Console sign-in with a second factor: the authenticator app's code or a recovery code
after the password (or after a code), a code by SMS or email instead, and the refusals that
end the pending sign-in. The challenge stays in the console session, never in the page."""

from __future__ import annotations

from shared.models import UserAccount
from tests.auth.mfa_support import enrol_totp, make_recovery_codes
from tests.auth.test_passkeys import register_passkey
from tests.console.support import PASSWORD, make_admin, post_form, rewrite_session, stored_session


def _mfa_on(runtime, admin: UserAccount) -> None:
    with runtime.session_factory() as db:
        stored = db.get(UserAccount, admin.id)
        assert stored is not None
        stored.mfa_enabled = True
        db.commit()


def _form(html: str, form_id: str) -> str:
    return html.split(f'id="{form_id}"')[1].split("</form>")[0]


def _password(console, admin: UserAccount):
    return post_form(console, "/setup/sign-in", {"login": admin.email, "password": PASSWORD})


def _signed_in(console) -> bool:
    return console.get("/setup/directory").status_code == 200


def test_an_administrator_with_an_authenticator_app_enters_its_code(console, runtime):
    admin = make_admin(runtime)
    generator = enrol_totp(runtime, str(admin.id))
    page = _password(console, admin)
    assert page.status_code == 200
    assert "Second step: your second factor" in page.text
    assert 'id="totp-form"' in page.text and 'id="send-code-form"' in page.text
    assert 'id="recovery-code-form"' not in page.text  # none made
    _, data = stored_session(runtime, console)
    challenge_id = data["challenge"]["mfa_challenge_id"]
    assert challenge_id and challenge_id not in page.text  # kept server-side
    assert not _signed_in(console)

    wrong = f"{(int(generator.now()) + 1) % 10**6:06d}"
    refused = post_form(console, "/setup/sign-in/mfa/verify", {"method": "totp", "code": wrong})
    assert refused.status_code == 401
    assert "The code is incorrect or was already used." in _form(refused.text, "totp-form")
    assert not _signed_in(console)

    right = post_form(
        console, "/setup/sign-in/mfa/verify", {"method": "totp", "code": generator.now()}
    )
    assert right.status_code == 303 and right.headers["location"] == "/setup"
    assert _signed_in(console)
    assert stored_session(runtime, console)[1]["challenge"] is None


def test_a_recovery_code_signs_in_once(console, runtime):
    admin = make_admin(runtime)
    enrol_totp(runtime, str(admin.id))
    codes = make_recovery_codes(runtime, str(admin.id))
    page = _password(console, admin)
    assert 'id="recovery-code-form"' in page.text
    form = {"method": "recovery_code", "code": codes[0]}
    assert post_form(console, "/setup/sign-in/mfa/verify", form).status_code == 303
    assert _signed_in(console)

    console.cookies.clear()
    _password(console, admin)
    again = post_form(console, "/setup/sign-in/mfa/verify", form)
    assert again.status_code == 401
    assert "form-error" in _form(again.text, "recovery-code-form")
    assert not _signed_in(console)


def test_a_code_by_email_instead_of_the_app(console, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "dev_codes", True)
    admin = make_admin(runtime)
    enrol_totp(runtime, str(admin.id))
    _password(console, admin)
    sent = post_form(console, "/setup/sign-in/mfa/otp")
    assert sent.status_code == 200
    assert 'id="code-form"' in sent.text and "Second step: verification code" in sent.text
    code = sent.text.split('<code id="dev-code">')[1].split("<")[0]
    assert post_form(console, "/setup/sign-in/otp/verify", {"code": code}).status_code == 303
    assert _signed_in(console)


def test_a_code_sign_in_asks_for_the_app_next(console, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "dev_codes", True)
    admin = make_admin(runtime)
    generator = enrol_totp(runtime, str(admin.id))
    page = post_form(console, "/setup/sign-in/otp", {"login": admin.email})
    code = page.text.split('<code id="dev-code">')[1].split("<")[0]
    step = post_form(console, "/setup/sign-in/otp/verify", {"code": code})
    assert step.status_code == 200 and 'id="totp-form"' in step.text
    assert 'id="send-code-form"' not in step.text  # a second code is no second factor
    assert not _signed_in(console)
    done = post_form(
        console, "/setup/sign-in/mfa/verify", {"method": "totp", "code": generator.now()}
    )
    assert done.status_code == 303 and _signed_in(console)


def test_nothing_set_up_that_counts_names_the_account_page(console, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "mfa_otp_counts", False)
    admin = make_admin(runtime)
    _mfa_on(runtime, admin)
    page = _password(console, admin)
    assert page.status_code == 403
    account = f"{runtime.settings.issuer}/account"
    assert account in page.text.split('class="form-error"')[1].split("</div>")[0]
    assert f'<a href="{account}">your account page</a>' in page.text
    assert stored_session(runtime, console)[1]["challenge"] is None
    assert not _signed_in(console)


def test_a_passkey_alone_cannot_sign_in_to_the_console(console, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "mfa_otp_counts", False)
    admin = make_admin(runtime)
    register_passkey(runtime, str(admin.id))
    page = _password(console, admin)
    assert page.status_code == 403
    assert "only the hosted sign-in page accepts" in page.text
    assert 'id="account-page-hint"' in page.text
    assert not _signed_in(console)


def test_an_expired_step_starts_again_with_the_reason(console, runtime):
    admin = make_admin(runtime)
    generator = enrol_totp(runtime, str(admin.id))
    _password(console, admin)
    _, data = stored_session(runtime, console)
    rewrite_session(runtime, console, challenge={**data["challenge"], "mfa_challenge_id": "gone"})
    page = post_form(
        console, "/setup/sign-in/mfa/verify", {"method": "totp", "code": generator.now()}
    )
    assert page.status_code == 401
    assert "This sign-in has expired or was already completed." in page.text
    assert 'id="password-form"' in page.text and 'id="totp-form"' not in page.text
    assert stored_session(runtime, console)[1]["challenge"] is None


def test_wrong_codes_lock_the_account_and_end_the_step(console, runtime):
    admin = make_admin(runtime)
    enrol_totp(runtime, str(admin.id))
    _password(console, admin)
    statuses = [
        post_form(
            console, "/setup/sign-in/mfa/verify", {"method": "totp", "code": "000000"}
        ).status_code
        for _ in range(runtime.settings.lockout_threshold + 1)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}
    assert stored_session(runtime, console)[1]["challenge"] is None
    assert not _signed_in(console)


def test_bad_posts_are_clear_refusals(console, runtime):
    admin = make_admin(runtime)
    enrol_totp(runtime, str(admin.id))
    # Nothing pending: back to the sign-in page, nothing else happens.
    for path in ("/setup/sign-in/mfa/verify", "/setup/sign-in/mfa/otp"):
        answer = post_form(console, path, {"method": "totp", "code": "123456"})
        assert answer.status_code == 303 and answer.headers["location"] == "/setup"
    _password(console, admin)
    odd = post_form(console, "/setup/sign-in/mfa/verify", {"method": "fingerprint", "code": "1"})
    assert odd.status_code == 422 and 'id="totp-form"' in odd.text  # the step goes on
    forged = console.post("/setup/sign-in/mfa/verify", data={"method": "totp", "code": "1"})
    assert forged.status_code == 403  # no CSRF token
    assert not _signed_in(console)


def test_console_access_shows_how_each_administrator_finishes_a_sign_in(signed_in, runtime):
    strong = make_admin(runtime, name="Tess Totp")
    enrol_totp(runtime, str(strong.id))
    table = signed_in.get("/setup/access").text.split('id="admins-table"')[1]
    row = table.split(strong.email or "")[1].split("</tr>")[0]
    assert '<td class="mfa">off<span class="factors"> · <span>app</span></span></td>' in row
    plain = table.split("Grace Admin")[1].split("</tr>")[0]  # the signed-in one: nothing
    assert '<td class="mfa">off</td>' in plain
