"""Redis key names carry no contact data: a `KEYS *`, `MONITOR` or dump shows no login."""

from __future__ import annotations

from tests.auth.support import error_of

GHOST = "ghost.walker@example.org"


def _forms(email: str, mobile: str) -> set[str]:
    """Every way a login could show up in a key name."""
    local = email.partition("@")[0]
    return {email, email.lower(), local, mobile, mobile.lstrip("+"), mobile[2:]}


def test_throttle_and_lockout_keys_name_no_email_or_mobile_number(caller, member, runtime):
    email, mobile = member["email"], member["mobile_number"]
    assert caller.post("/auth/otp/request", {"login": email}).status_code == 202
    resend = caller.post("/auth/otp/request", {"login": email})
    assert error_of(resend) == (429, "otp_throttled")
    assert caller.post("/auth/otp/request", {"login": mobile}).status_code == 202
    assert caller.post("/auth/password/request-reset", {"login": email}).status_code == 202
    assert error_of(caller.login(email, "not-the-password")) == (401, "invalid_credentials")
    assert error_of(caller.login(GHOST, "not-the-password")) == (401, "invalid_credentials")
    assert error_of(caller.login(mobile, "not-the-password")) == (401, "invalid_credentials")

    names = list(runtime.redis.scan_iter(match=runtime.settings.redis_prefix + "*"))
    assert any(":lockout:" in n for n in names) and any(":cooldown:" in n for n in names)
    forms = _forms(email, mobile) | _forms(GHOST, mobile)
    leaks = sorted(n for n in names for form in forms if form in n)
    assert leaks == []


def test_the_unknown_login_counter_still_locks_that_login_only(caller, member):
    for _ in range(5):
        assert caller.login(GHOST, "guess").status_code == 401
    assert error_of(caller.login(GHOST, "guess")) == (429, "account_locked")
    assert error_of(caller.login(GHOST.upper(), "guess")) == (429, "account_locked")
    assert caller.login(member["email"]).status_code == 200
