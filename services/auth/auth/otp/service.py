"""Sign-in by one-time code: request, (re)send, verify (DESIGN.md §5, §7)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from auth.accounts import (
    find_user_for_app,
    get_user_for_app,
    parse_login_field,
    require_app_user,
)
from auth.context import SignInContext
from auth.errors import (
    InvalidOtp,
    MfaChallengeExpired,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpThrottled,
)
from auth.mfa.challenges import MfaChallenges
from auth.otp.channels import Route, channel_of, choose_route
from auth.otp.delivery import send_after_commit
from auth.otp.store import OtpStore
from auth.schemas import DeviceIn
from auth.sessions.service import issue_token_pair
from auth.throttle import claim_cooldown, count_in_window, login_subject
from auth.trail import emit_now, emit_on_commit, sign_in_record
from shared.audit import EventType, Outcome
from shared.contact import Login, mask_destination
from shared.errors import Unprocessable
from shared.models import UserAccount
from shared.otp_contract import Channel, OtpDeliveryTask, Purpose
from shared.runtime import Runtime

HOUR = 3600


def check_ip_cap(runtime: Runtime, ctx: SignInContext, scope: str) -> None:
    ip = ctx.client.effective_ip or "-"
    count, window = count_in_window(runtime.redis, runtime.keys("auth", scope, "ip", ip), HOUR)
    if count > runtime.settings.otp_hourly_cap_per_ip:
        raise OtpThrottled(window, "Too many codes requested from this address; try again later.")


def check_login_limits(runtime: Runtime, ctx: SignInContext, scope: str, login: Login) -> None:
    """Resend cool-down, then the hourly cap for this login (both atomic in Redis)."""
    settings, keys = runtime.settings, runtime.keys
    subject = login_subject(runtime, login)
    wait = claim_cooldown(
        runtime.redis,
        keys("auth", scope, "cooldown", ctx.audience, subject),
        settings.otp_resend_cooldown_seconds,
    )
    if wait:
        raise OtpThrottled(wait, "A code was sent moments ago; wait before asking again.")
    count, window = count_in_window(runtime.redis, keys("auth", scope, "login", subject), HOUR)
    if count > settings.otp_hourly_cap_per_login:
        raise OtpThrottled(window, "Too many codes requested for this login; try again later.")


def start_challenge(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    user: UserAccount,
    login: Login,
    purpose: Purpose,
    requested: Channel | None,
) -> dict[str, Any]:
    """Issue a code to a user who may sign in here, and send it after commit."""
    settings = runtime.settings
    route = choose_route(settings, user, login, requested)
    store = OtpStore(runtime)
    spent = store.attempts_spent_for(ctx.audience, str(user.id))
    if spent:
        raise OtpAttemptsExceeded(spent)
    check_login_limits(runtime, ctx, "otp", login)
    issued = store.issue(ctx.audience, str(user.id), purpose.value)
    task = OtpDeliveryTask(
        channel=route.channel,
        purpose=purpose,
        destination=route.destination,
        mobile_carrier=user.mobile_carrier if route.channel is Channel.SMS else None,
        expires_at=datetime.fromtimestamp(issued.expires_at, UTC),
        user_id=str(user.id),
        application_id=str(ctx.application_id) if ctx.application_id else None,
    )
    send_after_commit(session, runtime, task, issued.code)
    details = {"channel": route.channel.value, "purpose": purpose.value}
    emit_on_commit(
        session,
        runtime,
        sign_in_record(ctx, EventType.OTP_REQUESTED, user_id=user.id, details=details),
    )
    return _challenge(runtime, issued.request_id, route, issued.code)


def _challenge(runtime: Runtime, request_id: str, route: Route, code: str | None) -> dict[str, Any]:
    settings = runtime.settings
    body: dict[str, Any] = {
        "otp_request_id": request_id,
        "channel": route.channel,
        "destination": mask_destination(route.destination),
        "expires_in": settings.otp_ttl_seconds,
        "resend_after": settings.otp_resend_cooldown_seconds,
    }
    if settings.dev_codes and code is not None:
        body["dev_code"] = code
    return body


def request_code(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    login_text: str,
    requested: Channel | None,
) -> dict[str, Any]:
    login = parse_login_field(login_text, runtime.settings.default_region)
    check_ip_cap(runtime, ctx, "otp")
    user, assigned = find_user_for_app(session, login, ctx.application_id)
    if ctx.is_console:
        if requested is not None and requested is not channel_of(login):
            raise Unprocessable(
                "For console sign-in the code goes to the email address or mobile number "
                "you entered.",
                code="validation_error",
            )
        if user is None or user.status != "active" or not user.is_admin:
            return _decoy(runtime, ctx, login)
    else:
        user = require_app_user(
            session, user, ctx.application_id, assigned=assigned, account=ctx.is_account
        )
    return start_challenge(session, runtime, ctx, user, login, Purpose.LOGIN, requested)


def _decoy(runtime: Runtime, ctx: SignInContext, login: Login) -> dict[str, Any]:
    """The console does not say who is an administrator: a non-admin gets the same answer
    (and the same limits), and no code is sent."""
    check_login_limits(runtime, ctx, "otp", login)
    route = Route(channel_of(login), login.value)
    return _challenge(runtime, secrets.token_urlsafe(18), route, None)


def verify_code(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    *,
    request_id: str | None,
    login_text: str | None,
    code: str,
    device: DeviceIn | None,
) -> dict[str, Any]:
    user, purpose = check_code(
        session, runtime, ctx, request_id=request_id, login_text=login_text, code=code
    )
    if purpose == Purpose.MFA.value:
        return issue_token_pair(session, runtime, ctx, user, device, "password+otp")
    # A code sign-in may need a second factor too (auth/mfa/policy.py). Imported here:
    # the second step sends codes with this module.
    from auth.mfa import service as mfa
    from auth.mfa.policy import CODE

    second = mfa.begin(session, runtime, ctx, user, None, CODE)
    if second is not None:
        return second
    return issue_token_pair(session, runtime, ctx, user, device, "otp")


def check_code(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    *,
    request_id: str | None,
    login_text: str | None,
    code: str,
) -> tuple[UserAccount, str]:
    """The user a code proves, if they (still) may sign in here, and the code's purpose."""
    store = OtpStore(runtime)
    if request_id is None:
        login = parse_login_field(login_text or "", runtime.settings.default_region)
        user, assigned = find_user_for_app(session, login, ctx.application_id)
        if not ctx.is_console:
            require_app_user(
                session, user, ctx.application_id, assigned=assigned, account=ctx.is_account
            )
        request_id = store.active_request(ctx.audience, str(user.id)) if user else None
        if request_id is None:
            raise OtpExpired()
    pending = store.pending(request_id, ctx.audience)
    try:
        store.verify(pending, code)
    except (InvalidOtp, OtpExpired, OtpAttemptsExceeded) as exc:
        record = sign_in_record(
            ctx,
            EventType.OTP_VERIFY_FAILED,
            user_id=pending.user_id,
            outcome=Outcome.FAILURE,
            details={"error": exc.code, "purpose": pending.purpose},
        )
        emit_now(runtime, record)
        raise
    # A second step's code: its challenge ends with it (an authenticator cannot complete it
    # again), and one completed otherwise makes the code worthless.
    if (
        pending.purpose == Purpose.MFA.value
        and MfaChallenges(runtime).end_for_code(request_id) is False
    ):
        raise MfaChallengeExpired()
    user, assigned = get_user_for_app(session, uuid.UUID(pending.user_id), ctx.application_id)
    if ctx.is_console:
        if user is None or user.status != "active" or not user.is_admin:
            raise OtpExpired()
    else:
        user = require_app_user(
            session, user, ctx.application_id, assigned=assigned, account=ctx.is_account
        )
    emit_on_commit(
        session,
        runtime,
        sign_in_record(
            ctx, EventType.OTP_VERIFIED, user_id=user.id, details={"purpose": pending.purpose}
        ),
    )
    return user, pending.purpose
