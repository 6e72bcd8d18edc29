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
# Service setup's pages, listed under it in the sidebar: (id, title, path).
SERVICE_PAGES = (
    ("checking", "Checking", "/setup"),
    ("deployment", "Deployment", "/setup/service/deployment"),
    ("platform", "Platform and token secret", "/setup/service/platform"),
    ("branding", "Branding", "/setup/service/branding"),
)
SUBSECTIONS = {"service": SERVICE_PAGES}
DURATION_UNITS = (("day", 86400), ("h", 3600), ("min", 60), ("s", 1))


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


def duration(seconds: Any) -> str:
    """Seconds as a person reads them: 900 -> "15 min", 7776000 -> "90 days", 5400 ->
    "1 h 30 min". Forms still take exact seconds; this is only how values are shown."""
    try:
        left = int(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    if left <= 0:
        return "0 s" if left == 0 else str(seconds)
    parts = []
    for unit, size in DURATION_UNITS:
        count, left = divmod(left, size)
        if count:
            plural = "s" if unit == "day" and count != 1 else ""
            parts.append(f"{count} {unit}{plural}")
    return " ".join(parts)


# A user's enrolled second factors (/auth/admin/activity), as the Directory names them.
FACTOR_NAMES = {"passkey": "passkey", "totp": "app", "recovery_code": "recovery codes"}


def factor_name(method: Any) -> str:
    return FACTOR_NAMES.get(str(method), str(method))


TEMPLATES.env.filters.update(
    date=_date, time=_time, datetime=_datetime, duration=duration, factor_name=factor_name
)


def session_of(request: Request) -> ConsoleSession:
    session: ConsoleSession = request.state.console_session
    return session


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    section: str | None = None,
    subpage: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """`section` marks the sidebar entry; `subpage`, one of the section's pages below it."""
    session = session_of(request)
    branding = await run_in_threadpool(request.app.state.branding.current)
    page = {
        "request": request,
        "section": section,
        "sections": SECTIONS,
        "subsections": SUBSECTIONS,
        "subpage": subpage,
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
