"""Attempt counters hold under concurrency: never more tries evaluated than the limit."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.auth.support import PASSWORD


def test_fifty_parallel_wrong_codes_evaluate_at_most_five(caller, member, outbox):
    response = caller.post("/auth/otp/request", {"login": member["email"]})
    request_id = response.json()["otp_request_id"]
    code = outbox.secret()
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    def attempt(_: int) -> tuple[int, str]:
        reply = caller.post("/auth/otp/verify", {"otp_request_id": request_id, "code": wrong})
        return reply.status_code, reply.json()["error"]["code"]

    with ThreadPoolExecutor(max_workers=25) as pool:
        outcomes = Counter(pool.map(attempt, range(50)))
    assert outcomes == {(401, "invalid_otp"): 5, (429, "otp_attempts_exceeded"): 45}
    right = caller.post("/auth/otp/verify", {"otp_request_id": request_id, "code": code})
    assert right.status_code == 429


def test_parallel_wrong_passwords_evaluate_at_most_the_threshold(
    caller, member, runtime, monkeypatch
):
    checked: list[bool] = []
    real_verify = runtime.passwords.verify

    def counting_verify(stored, password):
        result = real_verify(stored, password)
        checked.append(result.ok)
        return result

    monkeypatch.setattr(runtime.passwords, "verify", counting_verify)

    def attempt(_: int) -> int:
        return caller.login(member["email"], "wrong-password-guess").status_code

    with ThreadPoolExecutor(max_workers=15) as pool:
        statuses = Counter(pool.map(attempt, range(30)))
    assert len(checked) == 5
    assert statuses == {401: 5, 429: 25}
    assert caller.login(member["email"], PASSWORD).status_code == 429  # locked now
