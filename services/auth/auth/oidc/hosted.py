"""The hosted sign-in page's forms: password, OTP by SMS or email, the second factor; then the
provider session and the code, back to the application (or, for the account page, the
provider session and back to `/account`).

The second factor's own forms (authenticator app, recovery code, passkey, and enrolling
one where the sign-in needs it) are in `second_step.py`; both end in `finish`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from auth.accounts import find_user, parse_login_field
from auth.context import SignInContext
from auth.errors import InvalidCredentials, UserNotFound
from auth.login.service import check_password
from auth.mfa import service as mfa
from auth.mfa import totp
from auth.mfa.factors import OTP
from auth.mfa.policy import CODE, PASSWORD
from auth.oidc import pages
from auth.oidc.clients import RegisteredClient
from auth.oidc.flows import ACCOUNT_CLIENT, Flow, FlowStore, browser_cookie
from auth.oidc.grants import SignedInUser
from auth.oidc.http import (
    audit,
    oauth_request,
    read_form,
    runtime_of,
    secure,
    server_of,
    set_cookie,
    sso_cookie_name,
)
from auth.oidc.sso import (
    current_sso_session,
    end_sso_session,
    open_sso_session,
    renew_sso_session,
)
from auth.otp.service import check_code, request_code, start_challenge
from auth.trail import emit_on_commit, sign_in_record
from shared.audit import EventType
from shared.contact import Login
from shared.db import transaction
from shared.errors import ServiceError
from shared.models import UserAccount
from shared.otp_contract import Channel, Purpose
from shared.runtime import Runtime
from shared.web_pages import same_origin

ACCOUNT_NAME = "your account"  # "Sign in to your account"
ACCOUNT_PATH = "/account"

router = APIRouter(tags=["OpenID Connect"])


def signin_page(
    request: Request,
    flow: Flow,
    browser: str,
    *,
    client_name: str,
    error: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    store = FlowStore(runtime_of(request))
    redirect = dict(flow.params).get("redirect_uri")
    return pages.page(
        request,
        "signin.html",
        {
            "client_name": client_name,
            "for_account": flow.client_id == ACCOUNT_CLIENT,
            "flow": flow.id,
            "csrf_token": store.csrf_token(flow, browser),
            "stage": flow.stage,
            "destination": flow.destination,
            "login": flow.login,
            "methods": flow.methods,
            "error": error,
            **context,
        },
        status_code=status_code,
        redirect_uri=redirect,
    )


def denied_page(request: Request, error: OAuth2Error) -> Response:
    titles = {
        "invalid_client": "Unknown application",
        "invalid_request": "This sign-in request is not valid",
        "unauthorized_client": "This application may not sign in users here",
    }
    message = error.description or "The application sent a request this service cannot accept."
    title = titles.get(error.error or "", "This sign-in request is not valid")
    return pages.error_page(request, title, message)


def record_authorized(
    runtime: Runtime, ctx: SignInContext, signed_in: SignedInUser, via: str
) -> None:
    details = {"via": via, "sso_session_id": str(signed_in.sso_session_id)}
    audit(runtime, ctx, EventType.OIDC_AUTHORIZED, user_id=signed_in.user.id, details=details)


class Posted:
    """A form posted to the hosted page, with its flow, its client (None: the account page)
    and the caller."""

    def __init__(
        self,
        request: Request,
        form: FormData,
        flow: Flow,
        browser: str,
        client: RegisteredClient | None,
    ) -> None:
        self.request, self.form, self.flow, self.browser, self.client = (
            request,
            form,
            flow,
            browser,
            client,
        )
        self.runtime = runtime_of(request)
        if client is None:
            self.ctx = SignInContext.for_account(request)
            self.client_name = ACCOUNT_NAME
        else:
            self.ctx = SignInContext.for_client(client.application_id, client.name, request)
            self.client_name = client.name

    def field(self, name: str) -> str:
        return str(self.form.get(name) or "").strip()

    def again(self, error: str | None, status_code: int = 200, **context: Any) -> Response:
        return signin_page(
            self.request,
            self.flow,
            self.browser,
            client_name=self.client_name,
            error=error,
            status_code=status_code,
            **context,
        )


async def posted_form(request: Request) -> Posted | Response:
    """The prelude of every form post: same site, a form, this browser's live flow."""
    if not same_origin(request):
        return pages.error_page(
            request, "Request refused", "This request came from another site.", status_code=403
        )
    form = await read_form(request)
    if form is None:
        return pages.error_page(request, "This form could not be read", "It is too large.")
    runtime = runtime_of(request)
    browser = request.cookies.get(browser_cookie(secure(request)))
    flow = FlowStore(runtime).load(
        str(form.get("flow") or ""), browser, str(form.get("csrf_token") or "")
    )
    if flow is None or browser is None:
        return pages.error_page(
            request,
            "This sign-in page has expired",
            "Go back to the application and start signing in again.",
        )
    if flow.client_id == ACCOUNT_CLIENT:
        return Posted(request, form, flow, browser, None)
    client = server_of(request).query_client(flow.client_id)
    if client is None or not client.is_active:
        return pages.error_page(request, "Unknown application", "The application is not available.")
    return Posted(request, form, flow, browser, client)


def hosted_form(
    on: APIRouter, path: str
) -> Callable[[Callable[[Posted], Response]], Callable[[Posted], Response]]:
    """Register `handler(posted)` as the hosted page's form `path`: the prelude
    (`posted_form`) first, then the handler on a worker thread (it uses the database)."""

    def register(handler: Callable[[Posted], Response]) -> Callable[[Posted], Response]:
        async def endpoint(request: Request) -> Response:
            posted = await posted_form(request)
            if isinstance(posted, Response):
                return posted
            return await run_in_threadpool(handler, posted)

        on.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
        return handler

    return register


@hosted_form(router, "/auth/oidc/sign-in/password")
def _password(posted: Posted) -> Response:
    login, password = posted.field("login"), str(posted.form.get("password") or "")
    runtime = posted.runtime
    with transaction(runtime.session_factory) as db:
        try:
            user, parsed = check_password(db, runtime, posted.ctx, login, password)
            posted.flow = FlowStore(runtime).advance(posted.flow, login=login)
            return after_first_factor(posted, db, user, PASSWORD, parsed)
        except ServiceError as exc:
            db.rollback()
            posted.flow = FlowStore(runtime).advance(posted.flow, login=login)
            return posted.again(_password_refusal(db, runtime, login, exc), exc.status_code)


def _password_refusal(db: Any, runtime: Runtime, login: str, exc: ServiceError) -> str:
    """What the page says: the seed's message for a login the directory does not know (as
    its OTP login and `/auth/register` say; the password check still ran, as long)."""
    if isinstance(exc, InvalidCredentials):
        try:
            parsed = parse_login_field(login, runtime.settings.default_region)
        except ServiceError:
            return exc.message
        if find_user(db, parsed) is None:
            return UserNotFound.message
    return exc.message


@hosted_form(router, "/auth/oidc/sign-in/otp")
def _otp(posted: Posted) -> Response:
    login, runtime = posted.field("login"), posted.runtime
    channel_text = posted.field("channel")
    channel = Channel(channel_text) if channel_text in ("sms", "email") else None
    with transaction(runtime.session_factory) as db:
        try:
            challenge = request_code(db, runtime, posted.ctx, login, channel)
        except ServiceError as exc:
            db.rollback()
            posted.flow = FlowStore(runtime).advance(posted.flow, login=login)
            return posted.again(exc.message, status_code=exc.status_code)
        posted.flow = FlowStore(runtime).advance(
            posted.flow,
            stage="code",
            otp_request_id=challenge["otp_request_id"],
            destination=challenge["destination"],
            login=login,
        )
        return posted.again(None, dev_code=challenge.get("dev_code"))


@hosted_form(router, "/auth/oidc/sign-in/code")
def _code(posted: Posted) -> Response:
    runtime, flow = posted.runtime, posted.flow
    if flow.stage not in ("code", "mfa") or not flow.otp_request_id:
        return posted.again("Request a code first.", status_code=400)
    with transaction(runtime.session_factory) as db:
        try:
            user, purpose = check_code(
                db,
                runtime,
                posted.ctx,
                request_id=flow.otp_request_id,
                login_text=None,
                code=posted.field("code")[:10],
            )
        except ServiceError as exc:
            db.rollback()
            return posted.again(exc.message, status_code=exc.status_code)
        second = purpose == Purpose.MFA.value
        if (second and str(user.id) != flow.user_id) or (flow.stage == "mfa" and not second):
            return posted.again("This code is for another sign-in.", status_code=400)
        if second:
            return finish(posted, db, user, [flow.first or PASSWORD, "otp"])
        return after_first_factor(posted, db, user, CODE, None)


@hosted_form(router, "/auth/oidc/sign-in/restart")
def _restart(posted: Posted) -> Response:
    posted.flow = FlowStore(posted.runtime).advance(
        posted.flow,
        stage="sign-in",
        otp_request_id=None,
        destination=None,
        user_id=None,
        first=None,
        methods=[],
        notes={},
    )
    return posted.again(None)


def after_first_factor(
    posted: Posted, db: Any, user: UserAccount, first: str, login: Login | None
) -> Response:
    """The first factor was right: finish, or ask for what must follow (auth/mfa/policy.py):
    a code sent at once when a code is the only way (as the seed did), the choice of the
    user's methods, or enrolling one."""
    runtime, store = posted.runtime, FlowStore(posted.runtime)
    step, _ = mfa.requirement(db, runtime, posted.ctx, user, first)
    if step is None:
        return finish(posted, db, user, [first])
    base = {"user_id": str(user.id), "first": first, "methods": list(step.methods)}
    if step.must_enrol:
        posted.flow = store.advance(posted.flow, stage="enrol", **base)
        return enrol_page(posted, db, user)
    if step.methods == (OTP,):
        challenge = start_challenge(
            db, runtime, posted.ctx, user, login or mfa.login_of(user, None), Purpose.MFA, None
        )
        posted.flow = store.advance(
            posted.flow,
            stage="mfa",
            otp_request_id=challenge["otp_request_id"],
            destination=challenge["destination"],
            **base,
        )
        return posted.again(None, dev_code=challenge.get("dev_code"))
    posted.flow = store.advance(posted.flow, stage="second", **base)
    return posted.again(None)


def enrol_page(
    posted: Posted, db: Any, user: UserAccount, error: str | None = None, status_code: int = 200
) -> Response:
    """The sign-in needs a second factor and the user has none that counts: set one up here
    (an authenticator app, scanned from the QR code, or a passkey)."""
    runtime = posted.runtime
    issuer = pages.branding(runtime)["name"]
    pending = totp.pending_enrolment(db, runtime, user, issuer) or totp.start_enrolment(
        db, runtime, user, issuer
    )
    return posted.again(
        error, status_code, totp_qr=pending.qr_data_uri, totp_secret=pending.grouped_secret
    )


def amr(methods: list[str]) -> list[str]:
    """RFC 8176 method references: the factors used, and `mfa` when there were two (a
    passkey that verified its user is two in one)."""
    used = list(dict.fromkeys(methods))
    if len(used) > 1 and "mfa" not in used:
        used.append("mfa")
    return used


def finish(posted: Posted, db: Any, user: UserAccount, methods: list[str]) -> Response:
    """Signed in: a provider session, then the code, back to the application (the account
    page: back to it)."""
    methods = amr(methods)
    if posted.client is None:
        return _finish_account(posted, db, user, methods)
    runtime, request, server = posted.runtime, posted.request, server_of(posted.request)
    sso, cookie = open_sso_session(db, runtime, posted.ctx, user, methods)
    signed_in = SignedInUser(user, sso.id, int(sso.created_at.timestamp()), tuple(methods))
    oreq = oauth_request(request, db, posted.flow.params)
    try:
        grant = server.get_consent_grant(oreq, end_user=signed_in)
    except OAuth2Error as error:  # the client changed while the user signed in
        db.rollback()
        if error.redirect_uri:
            return server.handle_error_response(oreq, error)
        return denied_page(request, error)
    response = server.create_authorization_response(oreq, grant_user=signed_in, grant=grant)
    FlowStore(runtime).end(posted.flow)
    details = {"method": "+".join(methods), "via": "oidc", "sso_session_id": str(sso.id)}
    emit_on_commit(
        db,
        runtime,
        sign_in_record(posted.ctx, EventType.LOGIN_SUCCEEDED, user_id=user.id, details=details),
    )
    record_authorized(runtime, posted.ctx, signed_in, via="sign-in")
    set_cookie(
        request, response, sso_cookie_name(request), cookie, runtime.settings.sso_session_seconds
    )
    return response


def _finish_account(posted: Posted, db: Any, user: UserAccount, methods: list[str]) -> Response:
    runtime, request = posted.runtime, posted.request
    name = sso_cookie_name(request)
    earlier = current_sso_session(db, request.cookies.get(name))
    if earlier is not None and earlier.user_id == user.id:  # signing in again
        sso, cookie = earlier, renew_sso_session(runtime, earlier, methods)
    else:
        if earlier is not None:  # another user signs in on this browser: theirs ends
            end_sso_session(db, runtime, earlier, "signed_in_again")
        sso, cookie = open_sso_session(db, runtime, posted.ctx, user, methods)
    FlowStore(runtime).end(posted.flow)
    details = {"method": "+".join(methods), "via": "account", "sso_session_id": str(sso.id)}
    emit_on_commit(
        db,
        runtime,
        sign_in_record(posted.ctx, EventType.LOGIN_SUCCEEDED, user_id=user.id, details=details),
    )
    response = RedirectResponse(ACCOUNT_PATH, status_code=303)
    set_cookie(request, response, name, cookie, runtime.settings.sso_session_seconds)
    return response
