"""Display names for the ids in audit rows, read from the directory's tables.

Read-only lookups, one query per page: events keep ids (names change, users
get deleted), and the console shows the names that are current.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Application, UserAccount


def _uuids(ids: Iterable[str | None]) -> set[uuid.UUID]:
    found = set()
    for value in ids:
        if value:
            try:
                found.add(uuid.UUID(value))
            except ValueError:
                continue
    return found


def user_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = _uuids(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(UserAccount.id, UserAccount.name).where(UserAccount.id.in_(wanted))
    )
    return {str(user_id): name for user_id, name in rows}


def application_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = _uuids(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Application.id, Application.name).where(Application.id.in_(wanted))
    )
    return {str(app_id): name for app_id, name in rows}
