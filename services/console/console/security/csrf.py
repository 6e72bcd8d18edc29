"""The CSRF token every form and state-changing request carries.

A synchronizer token: random per session, stored with it, sent back in a
hidden `csrf_token` field (or the `X-CSRF-Token` header for script calls),
compared in constant time. Sign-in forms have one too (login CSRF).
"""

from __future__ import annotations

import hmac

from fastapi import Request

from console.security.session import ConsoleSession
from shared.web_pages import SAFE_METHODS

FIELD = "csrf_token"
HEADER = "x-csrf-token"


class CsrfRejected(Exception):
    """The request did not carry this session's CSRF token."""


def current_session(request: Request) -> ConsoleSession:
    session: ConsoleSession = request.state.console_session
    return session


async def require_csrf(request: Request) -> None:
    """Router dependency: every non-GET request must carry the session's token."""
    if request.method in SAFE_METHODS:
        return
    session = current_session(request)
    token = request.headers.get(HEADER)
    if token is None:
        form = await request.form()
        value = form.get(FIELD)
        token = value if isinstance(value, str) else None
    if not token or not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise CsrfRejected()
