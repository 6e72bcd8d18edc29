"""A code is bound to its own request: another request id, or a made-up one, gets nothing."""

from __future__ import annotations

from tests.auth.support import PASSWORD, error_of
from tests.factories import make_user


def _request(caller, login: str) -> str:
    response = caller.post("/auth/otp/request", {"login": login})
    assert response.status_code == 202, response.text
    return str(response.json()["otp_request_id"])


def _verify(caller, request_id: str, code: str):
    return caller.post("/auth/otp/verify", {"otp_request_id": request_id, "code": code})


def test_a_right_code_under_a_made_up_request_id_is_refused(caller, member, outbox):
    request_id = _request(caller, member["email"])
    code = outbox.secret()
    forged = request_id[:-2] + ("AA" if not request_id.endswith("AA") else "BB")
    status, _ = error_of(_verify(caller, forged, code))
    assert status == 401
    # The probe did not spend the real request.
    assert _verify(caller, request_id, code).status_code == 200


def test_my_code_does_not_open_someone_elses_request(caller, member, admin, outbox):
    other = make_user(admin, name="Other", password=PASSWORD, applications=[caller.app["id"]])
    theirs = _request(caller, other["email"])
    _request(caller, member["email"])
    mine = outbox.secret()

    response = _verify(caller, theirs, mine)

    assert error_of(response) == (401, "invalid_otp")
    # The wrong code counted against the victim's request, as any wrong guess does.
    assert response.json()["error"]["attempts_left"] == 4
