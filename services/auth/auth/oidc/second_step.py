"""The hosted sign-in page's second step: an authenticator app's code, a recovery code, a
code by SMS or email, or a passkey; a passkey as the only factor (passwordless); and, where
the sign-in needs a second factor the user does not have, enrolling one before finishing.

Passkey ceremonies take two requests: the page's script fetches the options (JSON, the
challenge kept for this flow), has the browser sign, and posts the answer as a form, so the
last answer is the same redirect back to the application as every other step's.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from auth.accounts import get_user_for_app, require_app_user
from auth.errors import MfaMethodUnavailable
from auth.mfa import passkeys, recovery_codes, totp
from auth.mfa import service as mfa
from auth.mfa.factors import OTP, PASSKEY, RECOVERY_CODE, TOTP
from auth.mfa.policy import PASSWORD
from auth.oidc import pages
from auth.oidc.flows import FlowStore
from auth.oidc.hosted import Posted, enrol_page, finish, hosted_form
from auth.otp.service import start_challenge
from shared.audit import EventType
from shared.db import transaction
from shared.errors import ServiceError
from shared.models import UserAccount
from shared.otp_contract import Channel, Purpose

router = APIRouter(tags=["OpenID Connect"])

GET, CREATE = "get", "create"  # the two ceremonies' names, as the browser calls them
# The amr (RFC 8176) of each second factor: TOTP and recovery codes are one-time passwords.
AMR = {TOTP: "otp", RECOVERY_CODE: "otp", OTP: "otp", PASSKEY: "hwk"}


def _flow_user(posted: Posted, db: Any) -> UserAccount:
    """The user the flow's first factor proved, if they may still sign in here."""
    return mfa.still_allowed(db, posted.ctx, posted.flow.user_id or "")


def rp_of(posted: Posted) -> passkeys.RelyingParty:
    return passkeys.relying_party(posted.runtime, pages.branding(posted.runtime)["name"])


@hosted_form(router, "/auth/oidc/sign-in/second-factor")
def _second_factor(posted: Posted) -> Response:
    flow, method = posted.flow, posted.field("method")
    if flow.stage != "second" or method not in (TOTP, RECOVERY_CODE) or method not in flow.methods:
        return posted.again("Choose one of the ways offered.", status_code=400)
    with transaction(posted.runtime.session_factory) as db:
        try:
            user = _flow_user(posted, db)
            mfa.check_code(db, posted.runtime, posted.ctx, user, method, posted.field("code")[:32])
        except ServiceError as exc:
            db.rollback()
            return posted.again(exc.message, status_code=exc.status_code)
        return finish(posted, db, user, [flow.first or PASSWORD, AMR[method]])


@hosted_form(router, "/auth/oidc/sign-in/second-code")
def _second_code(posted: Posted) -> Response:
    """A code by SMS or email instead of the authenticator (where codes count)."""
    flow, runtime = posted.flow, posted.runtime
    if flow.stage != "second" or OTP not in flow.methods:
        return posted.again("A code by SMS or email cannot complete this sign-in.", 400)
    channel_text = posted.field("channel")
    channel = Channel(channel_text) if channel_text in ("sms", "email") else None
    with transaction(runtime.session_factory) as db:
        try:
            user = _flow_user(posted, db)
            login = mfa.login_of(user, "mobile_number" if channel is Channel.SMS else "email")
            challenge = start_challenge(db, runtime, posted.ctx, user, login, Purpose.MFA, channel)
        except ServiceError as exc:
            db.rollback()
            return posted.again(exc.message, status_code=exc.status_code)
        posted.flow = FlowStore(runtime).advance(
            flow,
            stage="mfa",
            otp_request_id=challenge["otp_request_id"],
            destination=challenge["destination"],
        )
        return posted.again(None, dev_code=challenge.get("dev_code"))


# --- Passkeys ---


def _json_error(exc: ServiceError) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status_code
    )


@hosted_form(router, "/auth/oidc/sign-in/passkey/options")
def _passkey_options(posted: Posted) -> Response:
    """The options for `navigator.credentials.get()` (sign-in) or `create()` (enrolling)."""
    flow, ceremony = posted.flow, posted.field("ceremony")
    rp = rp_of(posted)
    with transaction(posted.runtime.session_factory) as db:
        try:
            if ceremony == GET and flow.stage == "sign-in":
                options, challenge = passkeys.authentication_options(db, rp, None)
            elif ceremony == GET and flow.stage == "second" and PASSKEY in flow.methods:
                user = _flow_user(posted, db)
                options, challenge = passkeys.authentication_options(db, rp, user.id)
            elif ceremony == CREATE and flow.stage == "enrol":
                user = _flow_user(posted, db)
                options, challenge = passkeys.registration_options(db, rp, user)
            else:
                raise MfaMethodUnavailable("A passkey cannot be used at this step.")
        except ServiceError as exc:
            return _json_error(exc)
    passkeys.Ceremonies(posted.runtime).keep(flow.id, ceremony, challenge)
    return Response(options, media_type="application/json")


@hosted_form(router, "/auth/oidc/sign-in/passkey")
def _sign_in_passkey(posted: Posted) -> Response:
    """A passkey's answer: the only factor (at the first step: it must have verified its
    user) or the second one."""
    flow, runtime = posted.flow, posted.runtime
    passwordless = flow.stage == "sign-in"
    if not passwordless and (flow.stage != "second" or PASSKEY not in flow.methods):
        return posted.again("A passkey cannot be used at this step.", status_code=400)
    challenge = passkeys.Ceremonies(runtime).take(flow.id, GET)
    if challenge is None:
        return posted.again("The passkey request expired. Try again.", status_code=400)
    with transaction(runtime.session_factory) as db:
        try:
            known = None if passwordless else _flow_user(posted, db)
            user_id = mfa.check_passkey(
                db,
                runtime,
                posted.ctx,
                rp_of(posted),
                challenge,
                str(posted.form.get("credential") or ""),
                user_id=known.id if known else None,
            )
            user = known or _passkey_user(posted, db, user_id)
        except ServiceError as exc:  # audited by check_passkey
            db.rollback()
            return posted.again(exc.message, status_code=exc.status_code)
        methods = ["hwk", "user"] if passwordless else [flow.first or PASSWORD, "hwk"]
        return finish(posted, db, user, methods)


def _passkey_user(posted: Posted, db: Any, user_id: uuid.UUID) -> UserAccount:
    """A passwordless sign-in's user: the seed's checks for this application."""
    ctx = posted.ctx
    user, assigned = get_user_for_app(db, user_id, ctx.application_id)
    return require_app_user(db, user, ctx.application_id, assigned=assigned, account=ctx.is_account)


# --- Enrolling before finishing ---


@hosted_form(router, "/auth/oidc/sign-in/enrol/totp")
def _enrol_totp(posted: Posted) -> Response:
    if posted.flow.stage != "enrol":
        return posted.again("There is nothing to set up at this step.", status_code=400)
    runtime = posted.runtime
    with transaction(runtime.session_factory) as db:
        try:
            user = _flow_user(posted, db)
        except ServiceError as exc:
            return posted.again(exc.message, status_code=exc.status_code)
        if not totp.confirm_enrolment(db, runtime, user.id, posted.field("code")[:16]):
            db.rollback()
            return enrol_page(
                posted, db, user, "The code is incorrect. Check the app and try again.", 400
            )
        mfa.record_change(db, runtime, posted.ctx, user.id, EventType.MFA_ENROLLED, TOTP)
        return _enrolled(posted, db, user, TOTP)


@hosted_form(router, "/auth/oidc/sign-in/enrol/passkey")
def _enrol_passkey(posted: Posted) -> Response:
    if posted.flow.stage != "enrol":
        return posted.again("There is nothing to set up at this step.", status_code=400)
    runtime = posted.runtime
    challenge = passkeys.Ceremonies(runtime).take(posted.flow.id, CREATE)
    with transaction(runtime.session_factory) as db:
        try:
            user = _flow_user(posted, db)
        except ServiceError as exc:
            return posted.again(exc.message, status_code=exc.status_code)
        try:
            if challenge is None:
                raise passkeys.PasskeyNotRegistered("The passkey request expired. Try again.")
            row = passkeys.register(
                db,
                rp_of(posted),
                user,
                challenge,
                str(posted.form.get("credential") or ""),
                posted.field("name") or "Passkey",
            )
        except ServiceError as exc:
            db.rollback()
            return enrol_page(posted, db, user, exc.message, exc.status_code)
        mfa.record_change(
            db,
            runtime,
            posted.ctx,
            user.id,
            EventType.MFA_ENROLLED,
            PASSKEY,
            passkey_id=str(row.id),
            name=row.name,
        )
        return _enrolled(posted, db, user, PASSKEY)


def _enrolled(posted: Posted, db: Any, user: UserAccount, method: str) -> Response:
    """Set up, and so proven: recovery codes to keep (the first time), then on."""
    runtime = posted.runtime
    second = [posted.flow.first or PASSWORD, AMR[method]]
    if recovery_codes.remaining(db, user.id):
        return finish(posted, db, user, second)
    codes = recovery_codes.generate(db, runtime, user.id)
    mfa.record_change(
        db, runtime, posted.ctx, user.id, EventType.MFA_RECOVERY_CODES_GENERATED, RECOVERY_CODE
    )
    posted.flow = FlowStore(runtime).advance(
        posted.flow, stage="codes", notes={"second": " ".join(second)}
    )
    return posted.again(None, recovery_codes=codes)


@hosted_form(router, "/auth/oidc/sign-in/continue")
def _continue(posted: Posted) -> Response:
    flow = posted.flow
    if flow.stage != "codes" or not flow.notes.get("second"):
        return posted.again("There is nothing to continue at this step.", status_code=400)
    with transaction(posted.runtime.session_factory) as db:
        try:
            user = _flow_user(posted, db)
        except ServiceError as exc:
            return posted.again(exc.message, status_code=exc.status_code)
        return finish(posted, db, user, flow.notes["second"].split())
