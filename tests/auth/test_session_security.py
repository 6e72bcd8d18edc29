"""`GET /auth/session` refuses every token it should, each case on its own."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.tokens import CONSOLE_AUDIENCE
from tests.auth.support import PASSWORD, AppCaller, error_of
from tests.factories import assign, make_app_with_key, make_user


@pytest.fixture
def tokens(caller, member):
    return caller.signed_in(member["email"])


def _segments(token: str) -> list[str]:
    return token.split(".")


def _encode(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _resign(runtime, token: str, **changes) -> str:
    """The same token with changed claims, signed with the real current key."""
    alg = jwt.get_unverified_header(token)["alg"]
    return runtime.tokens.sign({**_claims(token), **changes}, alg)


def test_a_valid_token_is_accepted(caller, tokens):
    assert caller.session(tokens["access_token"]).status_code == 200


def test_alg_none_is_refused(caller, tokens):
    header = jwt.get_unverified_header(tokens["access_token"])
    forged = f"{_encode({**header, 'alg': 'none'})}.{_segments(tokens['access_token'])[1]}."
    assert error_of(caller.session(forged)) == (401, "invalid_token")


def test_a_token_signed_with_another_key_is_refused(caller, tokens):
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        _claims(tokens["access_token"]), foreign, algorithm="RS256", headers={"kid": kid}
    )
    assert error_of(caller.session(forged)) == (401, "invalid_token")


def test_a_tampered_payload_is_refused(caller, tokens, admin):
    someone_else = make_user(admin, password=PASSWORD, applications=[caller.app["id"]])
    other = caller.signed_in(someone_else["email"])
    header, _, signature = _segments(tokens["access_token"])
    payload = _segments(other["access_token"])[1]
    assert error_of(caller.session(f"{header}.{payload}.{signature}")) == (401, "invalid_token")


def test_an_expired_token_is_refused_as_expired(caller, tokens, runtime):
    past = int(time.time()) - 60
    expired = _resign(runtime, tokens["access_token"], iat=past - 900, exp=past)
    assert error_of(caller.session(expired)) == (401, "token_expired")


def test_a_refresh_token_is_not_an_access_token(caller, tokens, runtime):
    assert error_of(caller.session(tokens["refresh_token"])) == (401, "invalid_token")
    typed = _resign(runtime, tokens["access_token"], typ="refresh")
    assert error_of(caller.session(typed)) == (401, "invalid_token")


def test_a_wrong_issuer_is_refused(caller, tokens, runtime):
    foreign = _resign(runtime, tokens["access_token"], iss="http://evil.example")
    assert error_of(caller.session(foreign)) == (401, "invalid_token")


def test_a_token_issued_to_app_a_is_refused_for_app_b(
    caller, tokens, admin, auth_client, member, runtime
):
    other_app, other_key = make_app_with_key(admin)
    assign(admin, member["auth_user_id"], [caller.app["id"], other_app["id"]])
    app_b = AppCaller(auth_client, other_key, other_app)
    assert error_of(app_b.session(tokens["access_token"])) == (401, "invalid_token")
    # Re-signed for B's audience: the session still belongs to A.
    relabelled = _resign(runtime, tokens["access_token"], aud=other_app["id"])
    assert error_of(app_b.session(relabelled)) == (401, "invalid_token")


def test_a_console_token_is_refused_by_the_app_api(caller, admin_headers):
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    assert _claims(token)["aud"] == CONSOLE_AUDIENCE
    assert error_of(caller.session(token)) == (401, "invalid_token")


def test_missing_or_malformed_bearer_is_refused(caller):
    missing = caller.client.get("/auth/session", headers=caller.headers())
    assert error_of(missing) == (401, "invalid_token")
    assert error_of(caller.session("not-a-jwt")) == (401, "invalid_token")


def test_a_revoked_session_is_refused(caller, tokens):
    assert (
        caller.post("/auth/logout", {"refresh_token": tokens["refresh_token"]}).status_code == 200
    )
    assert error_of(caller.session(tokens["access_token"])) == (401, "session_revoked")
