"""Service logs and audit events never carry a password, code, key or token.

The services' structlog output is rendered as in production (JSON, masked) into
a buffer, together with everything the standard library loggers print, while
a caller signs in, uses its key, goes through OTP, refresh, reset and logout,
and while the OTP broker is down (the one path that logs on every request).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import structlog

from shared.logging import configure_logging
from tests.auth.support import PASSWORD, Outbox

WRONG_PASSWORD = "not-the-password-" + "q" * 12
NEW_PASSWORD = "copper-kettle-horizon-77"


@pytest.fixture
def service_logs() -> Iterator[io.StringIO]:
    previous = structlog.get_config()
    buffer = io.StringIO()
    configure_logging("security-test", "DEBUG")
    # Uncached, so loggers first used before this test render through this configuration.
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(buffer), cache_logger_on_first_use=False
    )
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(old_level)
    structlog.configure(**previous)
    structlog.contextvars.clear_contextvars()


class BrokerDown(Outbox):
    def __call__(self, task):
        super().__call__(task)
        raise ConnectionError(f"broker unreachable while sending {task!r}")


def _run_every_flow(caller, member, outbox, runtime) -> list[str]:
    """Drive the flows; every secret that crossed the wire."""
    email = member["email"]
    secrets = [PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, caller.api_key]
    assert caller.login(email, WRONG_PASSWORD).status_code == 401
    signed_in = caller.signed_in(email)
    secrets += [signed_in["access_token"], signed_in["refresh_token"]]
    assert caller.session(signed_in["access_token"]).status_code == 200
    refreshed = caller.refresh(signed_in["refresh_token"]).json()
    secrets += [refreshed["access_token"], refreshed["refresh_token"]]
    bad_key = caller.api_key[:-3] + "zzz"
    secrets.append(bad_key)
    denied = caller.client.get("/auth/session", headers={"X-Auth-Service-Key": bad_key})
    assert denied.status_code == 401

    challenge = caller.post("/auth/otp/request", {"login": email}).json()
    code = outbox.secret()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    secrets += [code, wrong]
    verify = {"otp_request_id": challenge["otp_request_id"], "code": wrong}
    assert caller.post("/auth/otp/verify", verify).status_code == 401
    verified = caller.post("/auth/otp/verify", {**verify, "code": code}).json()
    secrets += [verified["access_token"], verified["refresh_token"]]

    caller.post("/auth/password/request-reset", {"login": email})
    token = parse_qs(urlsplit(outbox.secret()).fragment)["token"][0]
    secrets.append(token)
    reset = caller.post("/auth/password/reset", {"token": token, "new_password": NEW_PASSWORD})
    assert reset.status_code == 200
    relogged = caller.login(email, NEW_PASSWORD).json()
    secrets += [relogged["access_token"], relogged["refresh_token"]]
    assert (
        caller.post("/auth/logout", {"refresh_token": relogged["refresh_token"]}).status_code == 200
    )
    return secrets


def test_logs_and_audit_events_hold_no_secrets(caller, member, runtime, monkeypatch, service_logs):
    monkeypatch.setattr(runtime.settings, "otp_resend_cooldown_seconds", 0)
    broken = BrokerDown(runtime)
    monkeypatch.setattr(runtime, "otp_sender", broken)

    secrets = _run_every_flow(caller, member, broken, runtime)

    logs = service_logs.getvalue()
    assert "otp_enqueue_failed" in logs  # the capture works: each code request logged
    audit = str(runtime.redis.xrange(runtime.keys.audit_stream))
    for secret in secrets:
        assert secret not in logs, f"a secret reached the logs: {secret[:6]}..."
        assert secret not in audit, f"a secret reached the audit trail: {secret[:6]}..."
