"""Password recovery: a single-use token delivered by OTP delivery, then a new password.

The token is 192 random bits, stored only as a keyed hash, valid for
`password_reset_ttl_seconds`. Email gets a link built from the configured
public hostname (never the request's Host header), the token in its fragment;
SMS gets the token itself.
Completing a reset ends every session of the user; MFA stays as it was.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auth.accounts import find_user, is_assigned, parse_login_field, require_app_user
from auth.context import SignInContext
from auth.errors import InvalidResetToken, NotAssigned, UserDisabled
from auth.login.lockout import Lockout
from auth.otp.channels import choose_route
from auth.otp.delivery import send_after_commit
from auth.otp.service import check_ip_cap, check_login_limits
from auth.sessions.revocation import revoke_user_sessions
from auth.trail import emit_on_commit, sign_in_record
from shared.audit import EventType
from shared.contact import mask_destination
from shared.models import PasswordResetToken, UserAccount
from shared.models.base import utcnow
from shared.otp_contract import Channel, OtpDeliveryTask, Purpose
from shared.runtime import Runtime
from shared.security.password_policy import check_password
from shared.settings import Settings


def reset_link(settings: Settings, token: str) -> str:
    """The page's URL with the token after the `#`. Browsers never send the fragment, so
    the token stays out of Traefik's access log and any proxy's; the page reads it with
    script. A page that routes by its fragment (`/#/reset`) gets it as a parameter there."""
    base = settings.password_reset_url or f"https://{settings.public_hostname}/reset-password"
    param = urlencode({"token": token})
    _, hashed, fragment = base.partition("#")
    if not hashed:
        return f"{base}#{param}"
    return f"{base}{'&' if '?' in fragment else '?'}{param}"


def request_reset(
    session: Session, runtime: Runtime, ctx: SignInContext, login_text: str
) -> dict[str, Any]:
    settings = runtime.settings
    login = parse_login_field(login_text, settings.default_region)
    check_ip_cap(runtime, ctx, "reset")
    user = require_app_user(session, find_user(session, login), ctx.application_id)
    route = choose_route(settings, user, login, None)
    check_login_limits(runtime, ctx, "reset", login)
    now = utcnow()
    # One live token per user: asking again retires the previous one.
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(24)
    expires_at = now + timedelta(seconds=settings.password_reset_ttl_seconds)
    session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=runtime.box.keyed_hash(token),
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    secret = reset_link(settings, token) if route.channel is Channel.EMAIL else token
    task = OtpDeliveryTask(
        channel=route.channel,
        purpose=Purpose.PASSWORD_RESET,
        destination=route.destination,
        mobile_carrier=user.mobile_carrier if route.channel is Channel.SMS else None,
        expires_at=expires_at,
        user_id=str(user.id),
        application_id=str(ctx.application_id),
    )
    send_after_commit(session, runtime, task, secret)
    record = sign_in_record(
        ctx,
        EventType.PASSWORD_RESET_REQUESTED,
        user_id=user.id,
        details={"channel": route.channel.value},
    )
    emit_on_commit(session, runtime, record)
    body: dict[str, Any] = {
        "channel": route.channel,
        "destination": mask_destination(route.destination),
        "expires_in": settings.password_reset_ttl_seconds,
    }
    if settings.dev_codes:
        body["dev_token"] = token
    return body


def complete_reset(
    session: Session, runtime: Runtime, ctx: SignInContext, token: str, new_password: str
) -> dict[str, Any]:
    now = utcnow()
    row = session.scalar(
        select(PasswordResetToken).where(
            PasswordResetToken.token_hash == runtime.box.keyed_hash(token)
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidResetToken()
    user = session.get(UserAccount, row.user_id)
    if user is None:
        raise InvalidResetToken()
    if user.status != "active":
        raise UserDisabled()
    if ctx.application_id is not None and not is_assigned(session, user.id, ctx.application_id):
        raise NotAssigned()
    # Policy first: a weak password must leave the token usable for a second try.
    check_password(
        new_password,
        min_length=runtime.settings.password_min_length,
        personal=[user.name, user.email, user.mobile_number],
    )
    consumed = session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not consumed.rowcount:  # type: ignore[attr-defined]
        raise InvalidResetToken()  # a concurrent reset with the same token won
    # The one column of user_account the auth service writes (see accounts.py).
    user.password_hash = runtime.passwords.hash(new_password)
    revoked = revoke_user_sessions(session, runtime, user.id, "password_reset")
    Lockout(runtime).clear_account(str(user.id))
    record = sign_in_record(
        ctx,
        EventType.PASSWORD_RESET_COMPLETED,
        user_id=user.id,
        details={"sessions_revoked": revoked},
    )
    emit_on_commit(session, runtime, record)
    return {"password_reset": True, "sessions_revoked": revoked}
