"""Rendering pages: the templates, and what every page shows (branding, session, messages)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from console.security.session import ConsoleSession

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")

# The seed's sections, in its order: (id, title, path).
SECTIONS = (
    ("service", "Service setup", "/setup"),
    ("applications", "Applications", "/setup/applications"),
    ("access", "Console access", "/setup/access"),
    ("otp", "OTP providers", "/setup/otp"),
    ("directory", "Directory", "/setup/directory"),
    ("api-docs", "API docs", "/setup/api-docs"),
    ("docs", "System documentation", "/setup/docs"),
    ("audit", "Audit log", "/setup/audit"),
)


def _date(value: Any) -> str:
    moment = _parse(value)
    return moment.strftime("%Y-%m-%d") if moment else ""


def _time(value: Any) -> str:
    moment = _parse(value)
    return moment.strftime("%H:%M:%S") if moment else ""


def _datetime(value: Any) -> str:
    moment = _parse(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


TEMPLATES.env.filters.update(date=_date, time=_time, datetime=_datetime)


def session_of(request: Request) -> ConsoleSession:
    session: ConsoleSession = request.state.console_session
    return session


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    section: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    session = session_of(request)
    branding = await run_in_threadpool(request.app.state.branding.current)
    page = {
        "request": request,
        "section": section,
        "sections": SECTIONS,
        "admin": session.admin if session.signed_in else None,
        "csrf_token": session.csrf_token,
        "messages": session.take_flash(),
        "branding": branding,
        "errors": {},
        "values": {},
        "is_dev": request.app.state.runtime.settings.is_dev,
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(request, template, page, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """After a successful form post: back to a page (303, so a reload does not resend)."""
    return RedirectResponse(url, status_code=303)
