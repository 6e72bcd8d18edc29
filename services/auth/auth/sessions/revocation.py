"""Ending sessions: marked in Redis, then in MySQL with the request's transaction.

Redis first, because the hot path reads only Redis: a revocation that Redis
could not record fails the request (503, nothing committed, safe to retry)
instead of reporting success while the session's tokens still pass
`GET /auth/session`. If the commit fails after the mark, the session is
refused a little early, never accepted late.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from auth.cache import SessionCache
from auth.sessions import repository
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
    SessionCache(runtime).mark_revoked(str(user_id), [str(s) for s in session_ids])
    return repository.mark_revoked(session, session_ids, reason, utcnow())


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
