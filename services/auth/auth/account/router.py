"""`/account`: the user's own page at the provider, and its forms.

Without a live provider session it is the hosted sign-in page (a flow of its
own, `ACCOUNT_CLIENT`), which comes back here when it is done. Every form is
same-site only and carries a CSRF token derived from the session cookie.
Changing how one signs in (a second factor, recovery codes) needs a sign-in
of the last `FRESH_SECONDS`: a session cookie left on a shared computer
cannot add its finder's passkey.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from auth.account import service
from auth.admin.activity import list_devices, list_sessions
from auth.context import SignInContext
from auth.mfa import factors, passkeys, recovery_codes, totp
from auth.mfa import service as mfa
from auth.mfa.factors import PASSKEY, TOTP
from auth.oidc import pages
from auth.oidc.authorize import browser_secret
from auth.oidc.flows import ACCOUNT_CLIENT, FlowStore, browser_cookie
from auth.oidc.hosted import ACCOUNT_NAME, ACCOUNT_PATH, signin_page
from auth.oidc.http import read_form, runtime_of, secure, set_cookie, sso_cookie_name
from auth.oidc.schemas import html_pages
from auth.oidc.sso import current_sso_session, end_sso_session
from shared.audit import EventType
from shared.db import transaction
from shared.errors import ServiceError
from shared.models import AuthSession, UserAccount
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.web_pages import same_origin

router = APIRouter(tags=["account"])
templates = Jinja2Templates(
    directory=[Path(__file__).parent / "templates", Path(pages.__file__).parent / "templates"]
)

FRESH_SECONDS = 900
CREATE = "create"
STALE = "For your security, sign in again before changing how you sign in."


@dataclass
class Visit:
    """A signed-in visit to the account page: its provider session and user."""

    request: Request
    runtime: Runtime
    db: Session
    sso: AuthSession
    user: UserAccount
    cookie: str
    form: FormData | None = None

    @property
    def ctx(self) -> SignInContext:
        return SignInContext.for_account(self.request)

    @property
    def csrf_token(self) -> str:
        return self.runtime.box.keyed_hash(f"account-csrf:{self.cookie}")

    @property
    def fresh(self) -> bool:
        return utcnow() - self.sso.created_at <= timedelta(seconds=FRESH_SECONDS)

    @property
    def binding(self) -> str:
        return f"account:{self.sso.id}"

    def field(self, name: str) -> str:
        return str((self.form.get(name) if self.form else None) or "").strip()

    def id_field(self, name: str) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.field(name))
        except ValueError:
            return None


def _visit(request: Request, db: Session) -> Visit | None:
    cookie = request.cookies.get(sso_cookie_name(request)) or ""
    sso = current_sso_session(db, cookie)
    if sso is None:
        return None
    user = db.get(UserAccount, sso.user_id)
    if user is None or user.status != "active":
        return None
    return Visit(request, runtime_of(request), db, sso, user, cookie)


def _render(
    visit: Visit, *, error: str | None = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    db, user = visit.db, visit.user
    found = factors.enrolled(db, user.id)
    issuer = pages.branding(visit.runtime)["name"]
    pending = None if found.totp else totp.pending_enrolment(db, visit.runtime, user, issuer)
    sessions = list_sessions(db, user.id, False, 100)
    return templates.TemplateResponse(
        visit.request,
        "account.html",
        {
            "branding": pages.branding(visit.runtime),
            "user": user,
            "csrf_token": visit.csrf_token,
            "fresh": visit.fresh,
            "totp": found.totp,
            "pending_totp": pending if context.pop("show_pending", False) else None,
            "passkeys": passkeys.user_passkeys(db, user.id),
            "recovery_left": recovery_codes.remaining(db, user.id),
            "mfa_required": mfa.mfa_required_for(db, visit.runtime, user),
            "sessions": sessions,
            "current_session": str(visit.sso.id),
            "devices": list_devices(db, user.id),
            "error": error,
            **context,
        },
        status_code=status_code,
    )


def _sign_in(request: Request) -> Response:
    """No session (or a fresh sign-in asked for): the hosted sign-in page, for this page."""
    runtime = runtime_of(request)
    browser, new_browser = browser_secret(request)
    flow = FlowStore(runtime).start(ACCOUNT_CLIENT, [], browser)
    response = signin_page(request, flow, browser, client_name=ACCOUNT_NAME)
    if new_browser:
        set_cookie(request, response, browser_cookie(secure(request)), browser, 3600)
    return response


@router.get(
    ACCOUNT_PATH,
    response_class=HTMLResponse,
    responses=html_pages(s200="The account page, or the hosted sign-in page that leads to it"),
)
async def account(request: Request) -> Response:
    """The signed-in user's own page: second factors (authenticator app, passkeys, recovery
    codes), password, sessions and devices."""
    return await run_in_threadpool(_account, request)


def _account(request: Request) -> Response:
    with transaction(runtime_of(request).session_factory) as db:
        visit = _visit(request, db)
        if visit is None or request.query_params.get("sign-in") == "again":
            return _sign_in(request)
        return _render(visit)


async def _posted(request: Request) -> FormData | Response:
    """A form posted to the account page: same site and readable (the token: `_run`)."""
    if not same_origin(request):
        return pages.error_page(
            request, "Request refused", "This request came from another site.", status_code=403
        )
    form = await read_form(request)
    if form is None:
        return pages.error_page(request, "This form could not be read", "It is too large.")
    return form


def _run(request: Request, form: FormData, action: Any) -> Response:
    """Load the session in a transaction, check the form's token, run `action(visit)`."""
    with transaction(runtime_of(request).session_factory) as db:
        visit = _visit(request, db)
        if visit is None:
            return RedirectResponse(ACCOUNT_PATH, status_code=303)  # the sign-in page
        visit.form = form
        token = visit.field("csrf_token")
        if not hmac.compare_digest(token.encode(), visit.csrf_token.encode()):
            return pages.error_page(
                request, "This page has expired", "Reload the account page and try again."
            )
        try:
            result: Response = action(visit)
            return result
        except ServiceError as exc:
            db.rollback()
            return _render(visit, error=exc.message, status_code=exc.status_code)


def account_form(path: str, *, fresh: bool = False) -> Any:
    """Register `handler(visit) -> Response` as the POST form `path` of the account page."""

    def register(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            posted = await _posted(request)
            if isinstance(posted, Response):
                return posted

            def guarded(visit: Visit) -> Response:
                if fresh and not visit.fresh:
                    return _render(visit, error=STALE, stale=True, status_code=403)
                result: Response = handler(visit)
                return result

            return await run_in_threadpool(_run, request, posted, guarded)

        router.add_api_route(
            f"{ACCOUNT_PATH}/{path}", endpoint, methods=["POST"], include_in_schema=False
        )
        return handler

    return register


# --- Authenticator app ---


@account_form("totp/start", fresh=True)
def totp_start(visit: Visit) -> Response:
    issuer = pages.branding(visit.runtime)["name"]
    totp.start_enrolment(visit.db, visit.runtime, visit.user, issuer)
    return _render(visit, show_pending=True)


@account_form("totp/confirm", fresh=True)
def totp_confirm(visit: Visit) -> Response:
    if not totp.confirm_enrolment(visit.db, visit.runtime, visit.user.id, visit.field("code")):
        return _render(
            visit,
            error="The code is incorrect. Check the app and try again.",
            show_pending=True,
            status_code=400,
        )
    mfa.record_change(
        visit.db, visit.runtime, visit.ctx, visit.user.id, EventType.MFA_ENROLLED, TOTP
    )
    return _after_enrolment(visit, "Your authenticator app is set up.")


@account_form("totp/remove", fresh=True)
def totp_remove(visit: Visit) -> Response:
    service.remove_totp(visit.db, visit.runtime, visit.ctx, visit.user)
    return _render(visit, notice="Your authenticator app was removed.")


def _after_enrolment(visit: Visit, notice: str) -> Response:
    """The first factor set up also gets recovery codes, shown once."""
    if recovery_codes.remaining(visit.db, visit.user.id):
        return _render(visit, notice=notice)
    codes = service.new_recovery_codes(visit.db, visit.runtime, visit.ctx, visit.user)
    return _render(visit, notice=notice, new_codes=codes)


# --- Passkeys ---


@router.post(f"{ACCOUNT_PATH}/passkeys/options", include_in_schema=False)
async def passkey_options(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    return await run_in_threadpool(_passkey_options, request, posted)


def _passkey_options(request: Request, posted: FormData) -> Response:
    def options(visit: Visit) -> Response:
        if not visit.fresh:
            return JSONResponse({"error": {"code": "sign_in_again", "message": STALE}}, 403)
        rp = passkeys.relying_party(visit.runtime, pages.branding(visit.runtime)["name"])
        body, challenge = passkeys.registration_options(visit.db, rp, visit.user)
        passkeys.Ceremonies(visit.runtime).keep(visit.binding, CREATE, challenge)
        return Response(body, media_type="application/json")

    return _run(request, posted, options)


@account_form("passkeys/add", fresh=True)
def passkey_add(visit: Visit) -> Response:
    runtime = visit.runtime
    challenge = passkeys.Ceremonies(runtime).take(visit.binding, CREATE)
    if challenge is None:
        raise passkeys.PasskeyNotRegistered("The passkey request expired. Try again.")
    rp = passkeys.relying_party(runtime, pages.branding(runtime)["name"])
    row = passkeys.register(
        visit.db, rp, visit.user, challenge, visit.field("credential"), visit.field("name")
    )
    mfa.record_change(
        visit.db,
        runtime,
        visit.ctx,
        visit.user.id,
        EventType.MFA_ENROLLED,
        PASSKEY,
        passkey_id=str(row.id),
        name=row.name,
    )
    return _after_enrolment(visit, f"Passkey “{row.name}” added.")


@account_form("passkeys/rename")
def passkey_rename(visit: Visit) -> Response:
    passkey_id = visit.id_field("passkey_id")
    if passkey_id is None or not passkeys.rename(
        visit.db, visit.user.id, passkey_id, visit.field("name")
    ):
        return _render(visit, error="Passkey not found.", status_code=404)
    return _render(visit, notice="Passkey renamed.")


@account_form("passkeys/remove", fresh=True)
def passkey_remove(visit: Visit) -> Response:
    passkey_id = visit.id_field("passkey_id")
    if passkey_id is None:
        return _render(visit, error="Passkey not found.", status_code=404)
    service.remove_passkey(visit.db, visit.runtime, visit.ctx, visit.user, passkey_id)
    return _render(visit, notice="Passkey removed.")


# --- Recovery codes, password ---


@account_form("recovery-codes", fresh=True)
def recovery_codes_new(visit: Visit) -> Response:
    codes = service.new_recovery_codes(visit.db, visit.runtime, visit.ctx, visit.user)
    return _render(
        visit, notice="New recovery codes: the old ones no longer work.", new_codes=codes
    )


@account_form("password")
def password_change(visit: Visit) -> Response:
    ended = service.change_password(
        visit.db,
        visit.runtime,
        visit.ctx,
        visit.user,
        visit.sso.id,
        str(visit.form.get("current_password") or "") if visit.form else "",
        str(visit.form.get("new_password") or "") if visit.form else "",
        str(visit.form.get("confirm_password") or "") if visit.form else "",
    )
    others = f" {ended} other session{'s' if ended != 1 else ''} ended." if ended else ""
    return _render(visit, notice=f"Your password was changed.{others}")


# --- Sessions and devices ---


@account_form("sessions/end")
def session_end(visit: Visit) -> Response:
    session_id = visit.id_field("session_id")
    if session_id is None:
        return _render(visit, error="Session not found.", status_code=404)
    if session_id == visit.sso.id:
        return _sign_out(visit)
    service.end_session(visit.db, visit.runtime, visit.user, session_id)
    return _render(visit, notice="The session was signed out.")


@account_form("sessions/end-others")
def sessions_end_others(visit: Visit) -> Response:
    ended = service.end_other_sessions(visit.db, visit.runtime, visit.user, visit.sso.id)
    return _render(visit, notice=f"{ended} other session{'s' if ended != 1 else ''} signed out.")


@account_form("devices/forget")
def device_forget(visit: Visit) -> Response:
    device_id = visit.id_field("device_id")
    if device_id is None:
        return _render(visit, error="Device not found.", status_code=404)
    device = service.forget_device(visit.db, visit.runtime, visit.user, device_id)
    return _render(visit, notice=f"{device.name or 'The device'} was signed out and forgotten.")


@account_form("sign-out")
def sign_out(visit: Visit) -> Response:
    return _sign_out(visit)


def _sign_out(visit: Visit) -> Response:
    end_sso_session(visit.db, visit.runtime, visit.sso, "logout")
    response = RedirectResponse(ACCOUNT_PATH, status_code=303)
    response.delete_cookie(sso_cookie_name(visit.request), path="/", secure=secure(visit.request))
    return response
