"""Whether a sign-in needs a second step, and which methods may complete it.

A second factor is needed when the user's MFA flag is on, the application
requires one, the deployment requires one for everybody (`mfa_required`), or
the user has set up an authenticator app or a passkey of their own accord.

- After a password, any enrolled method completes the sign-in, and an SMS or
  email code too where the policy lets codes count (`mfa_otp_counts`) and the
  user can receive one.
- A code sign-in (OTP as the first factor) is complete by itself where codes
  count and the user has no authenticator, as the seed had it; a user with an
  authenticator (or where codes do not count) is asked for it next.
- A passkey that verified its user (PIN or biometrics) is two factors in one:
  nothing more is asked.
- Nothing enrolled that counts: the user must enrol before finishing (the
  hosted page offers it; the REST API answers `mfa_enrollment_required`).
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.mfa.factors import OTP, Enrolled
from auth.otp.channels import enabled_channels
from shared.models import UserAccount
from shared.otp_contract import Channel
from shared.settings import Settings

PASSWORD, CODE, PASSKEY_FIRST = "pwd", "otp", "passkey"


@dataclass(frozen=True)
class SecondStep:
    first: str  # the factor already given: pwd | otp
    methods: tuple[str, ...]  # strongest first; empty: enrol one before finishing

    @property
    def must_enrol(self) -> bool:
        return not self.methods


def can_receive_codes(settings: Settings, user: UserAccount) -> bool:
    channels = enabled_channels(settings)
    return bool(
        (Channel.SMS in channels and user.mobile_number)
        or (Channel.EMAIL in channels and user.email)
    )


def mfa_needed(settings: Settings, user: UserAccount, enrolled: Enrolled) -> bool:
    return (
        settings.mfa_required
        or user.mfa_enabled
        or enrolled.application_requires_mfa
        or enrolled.strong
    )


def second_step(
    settings: Settings, user: UserAccount, enrolled: Enrolled, first: str
) -> SecondStep | None:
    """None: the factor given (`first`) is enough; else what must follow it."""
    if first == PASSKEY_FIRST or not mfa_needed(settings, user, enrolled):
        return None
    codes_count = settings.mfa_otp_counts and can_receive_codes(settings, user)
    if first == CODE:
        if codes_count and not enrolled.strong:
            return None
        return SecondStep(first, enrolled.methods)
    return SecondStep(first, enrolled.methods + ((OTP,) if codes_count else ()))
