"""Second factors set up for a test user the way the account page leaves them."""

from __future__ import annotations

import uuid

import pyotp

from auth.mfa import recovery_codes, totp
from shared.models import TotpFactor, UserAccount
from shared.models.base import utcnow
from shared.runtime import Runtime


def enrol_totp(runtime: Runtime, user_id: str) -> pyotp.TOTP:
    """An authenticator app set up earlier (confirmed, no code used yet): its generator."""
    with runtime.session_factory() as db:
        user = db.get(UserAccount, uuid.UUID(user_id))
        assert user is not None
        pending = totp.start_enrolment(db, runtime, user, "Identity Services")
        row = db.get(TotpFactor, user.id)
        assert row is not None
        row.confirmed_at = utcnow()
        db.commit()
    return pyotp.TOTP(pending.secret)


def make_recovery_codes(runtime: Runtime, user_id: str) -> list[str]:
    with runtime.session_factory() as db:
        codes = recovery_codes.generate(db, runtime, uuid.UUID(user_id))
        db.commit()
    return codes


def step_code(generator: pyotp.TOTP, steps_from_now: int) -> str:
    """The code of the 30-second step `steps_from_now` away from the current one."""
    return generator.generate_otp(totp.current_step() + steps_from_now)
