"""Password edge cases: a megabyte, non-Latin scripts, long passphrases, the 128 limit."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.models import UserAccount
from tests.auth.support import PASSWORD, AppCaller, error_of
from tests.factories import make_user

MEGABYTE = "p" * (1024 * 1024)
# Latin with diacritics, Cyrillic, CJK and an emoji: nothing in the hashing path may assume ASCII.
UNICODE = "Grüße-aus-Köln-пароль-密码-🔐"
LONG = "the-quick-brown-fox-jumps-over-the-lazy-dog-" * 2 + "0123456789"  # 100 characters


def _user_count(runtime) -> int:
    with runtime.session_factory() as session:
        return session.scalar(select(func.count()).select_from(UserAccount)) or 0


def _member_with(admin, caller: AppCaller, password: str, email: str) -> dict:
    return make_user(
        admin, name="Edge Case", email=email, password=password, applications=[caller.app["id"]]
    )


def test_a_megabyte_password_is_a_clean_422_at_login_and_counts_as_no_failure(caller, member):
    for _ in range(6):  # more than the lockout threshold, had these counted
        assert error_of(caller.login(member["email"], MEGABYTE)) == (422, "validation_error")
    assert caller.login(member["email"], PASSWORD).status_code == 200


def test_a_megabyte_password_is_refused_by_the_directory_and_nothing_is_created(admin, runtime):
    before = _user_count(runtime)
    response = admin.post(
        "/directory/users", json={"name": "Big", "email": "big@example.com", "password": MEGABYTE}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert _user_count(runtime) == before


def test_a_megabyte_password_is_refused_at_reset_and_the_token_still_works(caller, member, outbox):
    caller.post("/auth/password/request-reset", {"login": member["mobile_number"]})
    token = outbox.secret()
    body = {"token": token, "new_password": MEGABYTE}
    assert error_of(caller.post("/auth/password/reset", body)) == (422, "validation_error")
    body["new_password"] = LONG
    assert caller.post("/auth/password/reset", body).status_code == 200
    assert caller.login(member["email"], LONG).status_code == 200


def test_a_unicode_password_signs_in_in_either_normal_form(admin, caller):
    user = _member_with(admin, caller, UNICODE, "unicode@example.com")
    assert caller.login(user["email"], UNICODE).status_code == 200
    # "ü" typed as u + combining diaeresis is the same password after NFKC.
    decomposed = UNICODE.replace("ü", "u\u0308").replace("ö", "o\u0308")
    assert decomposed != UNICODE
    assert caller.login(user["email"], decomposed).status_code == 200
    assert caller.login(user["email"], UNICODE.replace("🔐", "🔑")).status_code == 401


def test_every_character_of_a_long_passphrase_counts(admin, caller):
    user = _member_with(admin, caller, LONG, "long@example.com")
    assert caller.login(user["email"], LONG).status_code == 200
    # Differing only after byte 72 (where bcrypt would stop reading) must still fail.
    assert caller.login(user["email"], LONG[:-1] + "X").status_code == 401


def test_the_longest_password_is_128_characters(admin, runtime):
    before = _user_count(runtime)
    too_long = {"name": "Max", "email": "max@example.com", "password": "k" * 60 + "-" + "z" * 68}
    response = admin.post("/directory/users", json=too_long)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "weak_password"
    assert _user_count(runtime) == before
    too_long["password"] = too_long["password"][:128]
    assert admin.post("/directory/users", json=too_long).status_code == 201
