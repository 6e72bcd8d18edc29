"""Side effects that must happen only if the transaction commits.

Publishing an audit event, a directory event or a cache invalidation for a
write that then rolls back would tell the world something false. Services
queue such work on the session; it runs right after COMMIT and is dropped
on ROLLBACK.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

log = structlog.get_logger("after_commit")

_KEY = "after_commit"


def defer(session: Session, action: Callable[[], None]) -> None:
    session.info.setdefault(_KEY, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_deferred(session: Session) -> None:
    actions = session.info.pop(_KEY, [])
    for action in actions:
        try:
            action()
        except Exception as exc:  # the data is committed; report, don't undo
            log.error(
                "after_commit_failed", action=getattr(action, "__name__", "?"), error=str(exc)
            )


@event.listens_for(Session, "after_rollback")
def _drop_deferred(session: Session) -> None:
    session.info.pop(_KEY, None)
