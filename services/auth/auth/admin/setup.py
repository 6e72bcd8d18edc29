"""The first administrator (DESIGN.md §10): only while none exists, only with the setup token.

The token is `IDENTITY_SETUP_TOKEN` when set; otherwise one is generated at
start, printed once, and only its keyed hash is kept (in Redis, so every
replica accepts it) until it expires or the first administrator exists.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.errors import SetupUnavailable
from shared.contact import InvalidContact, normalize_email, normalize_mobile
from shared.errors import Conflict, Unprocessable
from shared.models import UserAccount
from shared.runtime import Runtime
from shared.security.password_policy import check_password
from shared.sync_contract import compute_sync_hash

log = structlog.get_logger("auth.setup")


def _token_key(runtime: Runtime) -> str:
    return runtime.keys("auth", "setup-token")


def admin_exists(session: Session) -> bool:
    query = select(UserAccount.id).where(UserAccount.is_admin.is_(True)).limit(1)
    return session.scalar(query) is not None


def issue_setup_token(runtime: Runtime, *, replace: bool = False) -> str | None:
    """A new one-time setup token; None when another replica already holds a live one."""
    token = secrets.token_urlsafe(24)
    stored = runtime.redis.set(
        _token_key(runtime),
        runtime.box.keyed_hash(token),
        ex=runtime.settings.setup_token_ttl_seconds,
        nx=not replace,
    )
    return token if stored else None


def announce_setup_token(runtime: Runtime) -> None:
    """At start: while no administrator exists, print how to create the first one."""
    try:
        with runtime.session_factory() as session:
            if admin_exists(session):
                return
        if runtime.settings.setup_token is not None:
            print("No administrator yet: open /setup with IDENTITY_SETUP_TOKEN.", flush=True)
            return
        token = issue_setup_token(runtime)
    except Exception as exc:  # start anyway; readiness reports the dependency
        log.warning("setup_token_unavailable", error=str(exc))
        return
    if token is None:
        print(
            "No administrator yet: a setup token was printed by another replica; "
            "`python -m auth.cli setup-token` prints a new one.",
            flush=True,
        )
        return
    hours = runtime.settings.setup_token_ttl_seconds // 3600
    # Printed to stdout as it is, since the operator has to read it: the one place it
    # appears. Never put it in a log call: that masks it only as a secret-named field;
    # free text is masked for API keys, JWTs and refresh tokens, not for this shape.
    print(f"No administrator yet. One-time setup token (valid {hours} h): {token}", flush=True)


def setup_token_matches(runtime: Runtime, presented: str) -> bool:
    configured = runtime.settings.setup_token
    if configured is not None:
        return hmac.compare_digest(presented.encode(), configured.get_secret_value().encode())
    stored = runtime.redis.get(_token_key(runtime))
    return stored is not None and hmac.compare_digest(
        str(stored), runtime.box.keyed_hash(presented)
    )


def forget_setup_token(runtime: Runtime) -> None:
    runtime.redis.delete(_token_key(runtime))


def _contact_fields(runtime: Runtime, email: str | None, mobile: str | None) -> dict[str, Any]:
    try:
        return {
            "email": normalize_email(email) if email else None,
            "mobile_number": normalize_mobile(mobile, runtime.settings.default_region)
            if mobile
            else None,
        }
    except InvalidContact as exc:
        raise Unprocessable(
            f"{exc.field}: {exc.message}",
            code="validation_error",
            fields=[{"field": exc.field, "message": exc.message}],
        ) from exc


def create_first_admin(
    session: Session,
    runtime: Runtime,
    *,
    name: str,
    email: str | None,
    mobile_number: str | None,
    password: str,
) -> UserAccount:
    """Insert the first administrator (flush only); refuses once any administrator exists."""
    contact = _contact_fields(runtime, email, mobile_number)
    if not contact["email"] and not contact["mobile_number"]:
        raise Unprocessable(
            "An administrator needs an email address or a mobile number.", code="contact_required"
        )
    check_password(
        password,
        min_length=runtime.settings.password_min_length,
        personal=[name, contact["email"], contact["mobile_number"]],
    )
    if admin_exists(session):
        raise SetupUnavailable()
    for field, value in contact.items():
        column = getattr(UserAccount, field)
        if value and session.scalar(select(UserAccount.id).where(column == value)) is not None:
            raise Conflict(
                f"A user with this {field.replace('_', ' ')} already exists.",
                code="duplicate",
                field=field,
            )
    fields = {"name": name, **contact, "emp_id": None, "status": "active"}
    user = UserAccount(
        **fields,
        is_admin=True,
        sync_hash=compute_sync_hash(fields),
        password_hash=runtime.passwords.hash(password),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "A user with this email or mobile number already exists.", code="duplicate"
        ) from exc
    return user
