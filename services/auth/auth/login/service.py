"""Password sign-in (with lockout and MFA) and the `register` membership check."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from auth.accounts import find_user_for_app, parse_login_field, require_app_user, user_payload
from auth.context import SignInContext
from auth.errors import AccountLocked, InvalidCredentials
from auth.login.lockout import Lockout, record_lockouts
from auth.mfa import service as mfa
from auth.mfa.policy import PASSWORD
from auth.schemas import DeviceIn
from auth.sessions.service import issue_token_pair
from auth.throttle import login_subject
from auth.trail import emit_now, sign_in_record
from shared.audit import EventType, Outcome
from shared.contact import Login
from shared.errors import ServiceError
from shared.models import UserAccount
from shared.runtime import Runtime


def register(session: Session, runtime: Runtime, ctx: SignInContext, login_text: str) -> dict:
    """The user, if they exist, are active and are assigned to the calling application."""
    login = parse_login_field(login_text, runtime.settings.default_region)
    user, assigned = find_user_for_app(session, login, ctx.application_id)
    user = require_app_user(
        session, user, ctx.application_id, assigned=assigned, account=ctx.is_account
    )
    return {"user": user_payload(user)}


def password_sign_in(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    login_text: str,
    password: str,
    device: DeviceIn | None,
) -> dict[str, Any]:
    user, login = check_password(session, runtime, ctx, login_text, password)
    second = mfa.begin(session, runtime, ctx, user, login, PASSWORD)
    if second is not None:
        return second
    return issue_token_pair(session, runtime, ctx, user, device, "password")


def check_password(
    session: Session, runtime: Runtime, ctx: SignInContext, login_text: str, password: str
) -> tuple[UserAccount, Login]:
    """The user this login and password prove, if they may sign in here (else the
    error to show); lockout, timing and audit as for every sign-in. MFA is the
    caller's next step."""
    login = parse_login_field(login_text, runtime.settings.default_region)
    user, assigned = find_user_for_app(session, login, ctx.application_id)
    lockout = Lockout(runtime)
    # Unknown logins get a counter too, so probing them is throttled the same way.
    account = str(user.id) if user else f"{login.kind}:{login_subject(runtime, login)}"
    try:
        attempt = lockout.begin(account, ctx.client.effective_ip)
    except AccountLocked as exc:
        _failed(runtime, ctx, user.id if user else None, "locked", exc.code)
        raise
    # The same argon2 work whether or not the user exists or has a password.
    result = runtime.passwords.verify(user.password_hash if user else None, password)
    if user is None or not result.ok:
        failure = lockout.failed(attempt)
        _failed(runtime, ctx, user.id if user else None, "wrong_password", None)
        record_lockouts(
            runtime, ctx, failure, user.id if user else None, {"login_kind": login.kind}
        )
        raise InvalidCredentials()
    lockout.succeeded(attempt)
    if result.new_hash:
        user.password_hash = result.new_hash  # parameters were raised since it was stored
    try:
        if ctx.is_console:
            # The console says nothing about who is an administrator.
            if user.status != "active" or not user.is_admin:
                raise InvalidCredentials()
        else:
            require_app_user(
                session, user, ctx.application_id, assigned=assigned, account=ctx.is_account
            )
    except ServiceError as exc:
        _failed(runtime, ctx, user.id, "not_allowed", exc.code)
        raise
    return user, login


def _failed(
    runtime: Runtime, ctx: SignInContext, user_id: Any, reason: str, code: str | None
) -> None:
    details = {"method": "password", "reason": reason, **({"error": code} if code else {})}
    emit_now(
        runtime,
        sign_in_record(
            ctx, EventType.LOGIN_FAILED, user_id=user_id, outcome=Outcome.FAILURE, details=details
        ),
    )
