"""The second step of a sign-in, wherever it happens: the REST API's `mfa_required`
challenge, the hosted sign-in page and the console's sign-in.

Wrong TOTP and recovery codes count towards the same per-account lockout as
wrong passwords (`Lockout`, keyed by the user), so a stolen password buys no
more guesses at the second factor than at the password itself. Every check,
enrolment and removal is audited for the user.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from auth.accounts import get_user_for_app, require_app_user
from auth.context import SignInContext
from auth.errors import (
    AccountLocked,
    InvalidSecondFactor,
    LastSecondFactor,
    MfaChallengeExpired,
    MfaEnrolmentRequired,
    MfaMethodUnavailable,
    SecondFactorNeedsBrowser,
)
from auth.login.lockout import Lockout, record_lockouts
from auth.mfa import factors, passkeys, recovery_codes, totp
from auth.mfa.challenges import CHALLENGE_SECONDS, MfaChallenges
from auth.mfa.factors import OTP, PASSKEY, RECOVERY_CODE, TOTP, Enrolled
from auth.mfa.policy import PASSWORD, SecondStep, can_receive_codes, second_step
from auth.otp.service import start_challenge
from auth.schemas import DeviceIn
from auth.sessions.service import issue_token_pair
from auth.trail import emit_now, emit_on_commit, sign_in_record
from shared.audit import EventType, Outcome
from shared.contact import Login
from shared.models import Application, Assignment, UserAccount
from shared.otp_contract import Channel, Purpose
from shared.runtime import Runtime

# What the REST API can complete (a passkey needs a browser: the hosted page).
REST_METHODS = (TOTP, RECOVERY_CODE, OTP)
# `method` of the login.succeeded event and the session, as the seed names the first factor.
FIRST_NAMES = {PASSWORD: "password", "otp": "otp"}


def account_page(runtime: Runtime) -> str:
    return f"{runtime.tokens.issuer}/account"


def requirement(
    session: Session, runtime: Runtime, ctx: SignInContext, user: UserAccount, first: str
) -> tuple[SecondStep | None, Enrolled]:
    found = factors.enrolled(session, user.id, ctx.application_id)
    return second_step(runtime.settings, user, found, first), found


def begin(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    user: UserAccount,
    login: Login | None,
    first: str,
) -> dict[str, Any] | None:
    """The REST answer after a first factor: None when it is enough, else `mfa_required`
    (with a code already sent when a code is the only way, as the seed did)."""
    step, _ = requirement(session, runtime, ctx, user, first)
    if step is None:
        return None
    methods = tuple(m for m in step.methods if m in REST_METHODS)
    if not methods:
        if step.must_enrol:
            raise MfaEnrolmentRequired(
                "A second factor is required here and none is set up: "
                f"set one up on your account page, {account_page(runtime)}."
            )
        raise SecondFactorNeedsBrowser(
            f"{SecondFactorNeedsBrowser.message} An authenticator app, which this sign-in "
            f"accepts, can be set up on your account page, {account_page(runtime)}."
        )
    kind = login.kind if login else None
    store = MfaChallenges(runtime)
    challenge = store.start(ctx, user, SecondStep(first, methods), kind)
    body: dict[str, Any] = {
        "mfa_required": True,
        "mfa_challenge_id": challenge.id,
        "methods": list(methods),
        "expires_in": CHALLENGE_SECONDS,
    }
    if methods == (OTP,) and login is not None:
        sent = start_challenge(session, runtime, ctx, user, login, Purpose.MFA, None)
        store.link_code(challenge, sent["otp_request_id"], runtime.settings.otp_ttl_seconds)
        body.update(sent)
    return body


def still_allowed(session: Session, ctx: SignInContext, user_id: str | uuid.UUID) -> UserAccount:
    """The challenge's user, if they may still sign in here (disabled or unassigned since?)."""
    user, assigned = get_user_for_app(session, uuid.UUID(str(user_id)), ctx.application_id)
    if ctx.is_console:  # says nothing about who is an administrator
        if user is None or user.status != "active" or not user.is_admin:
            raise MfaChallengeExpired()
        return user
    return require_app_user(
        session, user, ctx.application_id, assigned=assigned, account=ctx.is_account
    )


def send_code(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    challenge_id: str,
    channel: Channel | None,
) -> dict[str, Any]:
    """An SMS or email code for a pending second step that codes may complete."""
    store = MfaChallenges(runtime)
    challenge = store.load(challenge_id, ctx.audience)
    if challenge is None:
        raise MfaChallengeExpired()
    if OTP not in challenge.methods:
        raise MfaMethodUnavailable("A code by SMS or email cannot complete this sign-in.")
    user = still_allowed(session, ctx, challenge.user_id)
    login = login_of(user, challenge.login_kind)
    sent = start_challenge(session, runtime, ctx, user, login, Purpose.MFA, channel)
    store.link_code(challenge, sent["otp_request_id"], runtime.settings.otp_ttl_seconds)
    return sent


def login_of(user: UserAccount, kind: str | None) -> Login:
    """The user's login of `kind` (where a code should go first), else the one they have."""
    if (kind == "mobile_number" and user.mobile_number) or not user.email:
        return Login("mobile_number", user.mobile_number or "")
    return Login("email", user.email)


def check_code(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    user: UserAccount,
    method: str,
    code: str,
) -> None:
    """A TOTP or recovery code for `user`, counted by the lockout; raises when refused."""
    lockout = Lockout(runtime)
    try:
        attempt = lockout.begin(str(user.id), ctx.client.effective_ip)
    except AccountLocked as exc:
        _failed(runtime, ctx, user.id, method, "locked", exc.code)
        raise
    if method == TOTP:
        ok = totp.check_code(session, runtime, user.id, code)
    elif method == RECOVERY_CODE:
        ok = recovery_codes.consume(session, runtime, user.id, code)
    else:
        raise MfaMethodUnavailable()
    if not ok:
        failure = lockout.failed(attempt)
        _failed(runtime, ctx, user.id, method, "wrong_code", None)
        record_lockouts(runtime, ctx, failure, user.id, {"method": method})
        raise InvalidSecondFactor()
    lockout.succeeded(attempt)
    details: dict[str, Any] = {"method": method}
    if method == RECOVERY_CODE:
        details["recovery_codes_left"] = recovery_codes.remaining(session, user.id)
    emit_on_commit(
        session,
        runtime,
        sign_in_record(ctx, EventType.MFA_VERIFIED, user_id=user.id, details=details),
    )


def complete(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    *,
    challenge_id: str,
    method: str,
    code: str,
    device: DeviceIn | None,
) -> dict[str, Any]:
    """`POST /auth/mfa/verify`: the pending sign-in completed with a TOTP or recovery code."""
    store = MfaChallenges(runtime)
    challenge = store.load(challenge_id, ctx.audience)
    if challenge is None:
        raise MfaChallengeExpired()
    if method not in challenge.methods or method == OTP:
        ways = ", ".join(m for m in challenge.methods)
        raise MfaMethodUnavailable(
            f"This sign-in is completed with one of: {ways} (a code by SMS or email through "
            "/auth/mfa/otp and /auth/otp/verify)."
            if OTP in challenge.methods
            else f"This sign-in is completed with one of: {ways}."
        )
    user = still_allowed(session, ctx, challenge.user_id)
    check_code(session, runtime, ctx, user, method, code)
    if not store.end(challenge):
        raise MfaChallengeExpired()  # a concurrent request completed it first
    first = FIRST_NAMES.get(challenge.first, challenge.first)
    return issue_token_pair(session, runtime, ctx, user, device, f"{first}+{method}")


def check_passkey(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    rp: passkeys.RelyingParty,
    challenge: bytes,
    credential: str,
    *,
    user_id: uuid.UUID | None,
) -> uuid.UUID:
    """The user a passkey proves (`user_id`: the user already known, as a second factor;
    None: passwordless, which needs user verification). Refusals are audited; a counter
    that went back as a possible clone."""
    try:
        row = passkeys.authenticate(
            session,
            rp,
            challenge,
            credential,
            user_id=user_id,
            require_user_verification=user_id is None,
        )
    except passkeys.CounterWentBack as exc:
        details = {
            "passkey_id": str(exc.credential.id),
            "name": exc.credential.name,
            "stored_counter": exc.credential.sign_count,
            "reported_counter": exc.reported,
        }
        record = sign_in_record(
            ctx,
            EventType.PASSKEY_COUNTER_REGRESSED,
            user_id=exc.credential.user_id,
            outcome=Outcome.DENIED,
            details=details,
        )
        emit_now(runtime, record)
        raise
    except passkeys.PasskeyRefused as exc:
        _failed(runtime, ctx, user_id, PASSKEY, "refused", exc.code)
        raise
    details = {"method": PASSKEY, "passkey_id": str(row.id), "passwordless": user_id is None}
    emit_on_commit(
        session,
        runtime,
        sign_in_record(ctx, EventType.MFA_VERIFIED, user_id=row.user_id, details=details),
    )
    return row.user_id


def _failed(
    runtime: Runtime, ctx: SignInContext, user_id: Any, method: str, reason: str, code: str | None
) -> None:
    details = {"method": method, "reason": reason, **({"error": code} if code else {})}
    record = sign_in_record(
        ctx, EventType.MFA_VERIFY_FAILED, user_id=user_id, outcome=Outcome.FAILURE, details=details
    )
    emit_now(runtime, record)


# --- Enrolment and removal (the account page, the hosted page's enrol step, admins) ---


def record_change(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    user_id: uuid.UUID,
    event: EventType,
    method: str,
    **details: Any,
) -> None:
    record = sign_in_record(ctx, event, user_id=user_id, details={"method": method, **details})
    emit_on_commit(session, runtime, record)


def mfa_required_for(session: Session, runtime: Runtime, user: UserAccount) -> bool:
    """Whether some sign-in of this user must have a second factor whatever they enrol:
    their flag, the deployment, or an application they are assigned to."""
    if runtime.settings.mfa_required or user.mfa_enabled:
        return True
    requiring = exists().where(
        Assignment.user_id == user.id,
        Assignment.application_id == Application.id,
        Application.require_mfa.is_(True),
    )
    return bool(session.scalar(select(requiring)))


def check_removal(session: Session, runtime: Runtime, user: UserAccount, method: str) -> None:
    """Refuse to remove the last factor a user whose sign-in requires one can use (codes by
    SMS or email count where the policy lets them; recovery codes are a spare, not one)."""
    if not mfa_required_for(session, runtime, user):
        return
    found = factors.enrolled(session, user.id)
    totp_left = found.totp and method != TOTP
    passkeys_left = found.passkeys - (1 if method == PASSKEY else 0)
    codes = runtime.settings.mfa_otp_counts and can_receive_codes(runtime.settings, user)
    if not (totp_left or passkeys_left > 0 or codes):
        raise LastSecondFactor()


def reset_factors(session: Session, user_id: uuid.UUID) -> dict[str, int]:
    """Remove every second factor of a user (an administrator's reset)."""
    removed_totp = totp.remove(session, user_id)
    removed_passkeys = 0
    for row in passkeys.user_passkeys(session, user_id):
        session.delete(row)
        removed_passkeys += 1
    codes = recovery_codes.remove_all(session, user_id)
    session.flush()
    return {"totp": int(removed_totp), "passkeys": removed_passkeys, "recovery_codes": codes}
