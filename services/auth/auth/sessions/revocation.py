"""Ending sessions: in MySQL first, then marked in Redis once that commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from auth.cache import SessionCache
from auth.sessions import repository
from shared.after_commit import defer
from shared.models.base import utcnow
from shared.runtime import Runtime


def revoke_sessions(
    session: Session,
    runtime: Runtime,
    user_id: uuid.UUID,
    session_ids: Sequence[uuid.UUID],
    reason: str,
) -> int:
    """Revoke these sessions of one user; returns how many were still live."""
    count = repository.mark_revoked(session, session_ids, reason, utcnow())
    ids = [str(s) for s in session_ids]
    defer(session, lambda: SessionCache(runtime).mark_revoked(str(user_id), ids))
    return count


def revoke_user_sessions(
    session: Session,
    runtime: Runtime,
    user_id: uuid.UUID,
    reason: str,
    application_ids: Sequence[uuid.UUID] | None = None,
) -> int:
    """All of a user's live sessions (at some applications only, when given)."""
    ids = repository.live_session_ids(session, user_id, application_ids)
    if application_ids is None:
        # Sessions whose rows are already gone (a deleted user) still have cache entries.
        known = {str(i) for i in ids}
        ids += [uuid.UUID(s) for s in SessionCache(runtime).sessions_of(str(user_id)) - known]
    return revoke_sessions(session, runtime, user_id, ids, reason)


def revoke_now(
    runtime: Runtime, user_id: uuid.UUID, session_ids: Sequence[uuid.UUID], reason: str
) -> None:
    """In a transaction of its own: for a request that is about to fail (and roll back)."""
    with runtime.session_factory() as session:
        revoke_sessions(session, runtime, user_id, session_ids, reason)
        session.commit()
