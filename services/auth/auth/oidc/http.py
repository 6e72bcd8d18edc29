"""What the OpenID Connect endpoints share: limits, the Authlib request, audit, cookies, forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.datastructures import FormData, QueryParams
from starlette.responses import Response

from auth.context import SignInContext, caller_address
from auth.oidc.server import OidcRequest, OidcServer
from auth.oidc.sso import cookie_name
from auth.trail import emit_now, sign_in_record
from shared.audit import AuditRecord, EventType, Outcome
from shared.runtime import Runtime
from shared.web_pages import is_https

PREFIX = "/auth/oidc"
# Bounds on what a browser or a client may send (oversized parameters are refused, not
# parsed): a whole authorization request, one parameter, a form body.
MAX_QUERY_BYTES = 4096
MAX_PARAMETER_BYTES = 2048
MAX_FORM_BYTES = 16 * 1024


def server_of(request: Request) -> OidcServer:
    server: OidcServer = request.app.state.oidc
    return server


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def too_large(items: list[tuple[str, str]]) -> bool:
    return any(len(k) + len(v) > MAX_PARAMETER_BYTES for k, v in items)


def oauth_request(
    request: Request,
    db: Any,
    params: list[tuple[str, str]],
    *,
    form: FormData | None = None,
    ctx: SignInContext | None = None,
) -> OidcRequest:
    runtime = runtime_of(request)
    uri = f"{runtime.tokens.issuer}{request.url.path}"
    if params:
        uri += "?" + urlencode(params)
    return OidcRequest(
        method="GET" if form is None else "POST",
        uri=uri,
        headers=request.headers,  # case-insensitive: Authlib asks for "Authorization"
        query=QueryParams(params),
        form=form,
        db=db,
        runtime=runtime,
        ctx=ctx,
    )


def audit(
    runtime: Runtime,
    ctx: SignInContext | None,
    event: EventType,
    *,
    user_id: Any = None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
    request: Request | None = None,
) -> None:
    if ctx is not None:
        record = sign_in_record(ctx, event, user_id=user_id, outcome=outcome, details=details)
    else:  # no known client: the caller's address is all there is
        address = caller_address(request) if request is not None else None
        record = AuditRecord(
            type=event,
            outcome=outcome,
            effective_ip=address.effective_ip if address else None,
            forwarded_ip=address.forwarded_ip if address else None,
            remote_addr=address.remote_addr if address else None,
            details=details or {},
        )
    emit_now(runtime, record)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    secure = is_https(request, runtime_of(request).settings.trusted_proxy_networks)
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
    )


def secure(request: Request) -> bool:
    return is_https(request, runtime_of(request).settings.trusted_proxy_networks)


def sso_cookie_name(request: Request) -> str:
    return cookie_name(secure(request))


async def read_form(request: Request) -> FormData | None:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        return None
    try:
        form = await request.form(max_files=0, max_fields=40)
    except Exception:  # a body that is not a form (or too many fields): refused below
        return None
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if len(items) != len(form.multi_items()) or too_large(items):
        return None
    return form
