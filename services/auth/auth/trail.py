"""Audit events of sign-in in the auth service (admin actions: shared/admin_trail.py).

Successes are emitted after the transaction commits (a rolled-back sign-in
did not happen); failures are emitted at once, because the request that
reports them rolls back.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from auth.context import SignInContext
from shared.after_commit import defer
from shared.audit import AuditRecord, EventType, Outcome
from shared.runtime import Runtime


def sign_in_record(
    ctx: SignInContext,
    event: EventType,
    *,
    user_id: uuid.UUID | str | None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    subject = str(user_id) if user_id else None
    actor: dict[str, str | None]
    if ctx.application_id is not None:
        actor = {
            "actor_type": "app",
            "actor_id": str(ctx.application_id),
            "actor_name": ctx.application_name,
        }
    else:
        actor = {"actor_type": "user", "actor_id": subject}
    return AuditRecord(
        type=event,
        outcome=outcome,
        subject_user_id=subject,
        application_id=str(ctx.application_id) if ctx.application_id else None,
        effective_ip=ctx.client.effective_ip,
        forwarded_ip=ctx.client.forwarded_ip,
        remote_addr=ctx.client.remote_addr,
        user_agent=ctx.user_agent,
        details={"audience": _audience(ctx), **(details or {})},
        **actor,
    )


def _audience(ctx: SignInContext) -> str:
    return "console" if ctx.is_console else "account" if ctx.is_account else "app"


def emit_now(runtime: Runtime, record: AuditRecord) -> None:
    runtime.audit.emit_after_commit(record)  # logs, never raises: the answer matters more


def emit_on_commit(session: Session, runtime: Runtime, record: AuditRecord) -> None:
    defer(session, lambda: runtime.audit.emit_after_commit(record))
