"""SQL for applications: lookups, filtered pages and the users/keys counts the console shows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from shared.models import ApiKey, Application, Assignment


def get(session: Session, application_id: uuid.UUID) -> Application | None:
    return session.scalar(
        select(Application)
        .options(selectinload(Application.networks))
        .where(Application.id == application_id)
    )


def find_by_name(
    session: Session, name: str, exclude_id: uuid.UUID | None = None
) -> Application | None:
    # Case-insensitive everywhere, as MariaDB's collation already is for the unique index.
    query = select(Application).where(func.lower(Application.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Application.id != exclude_id)
    return session.scalar(query.limit(1))


def filtered(q: str | None, status: str | None) -> Select[Application]:
    query = select(Application)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Application.name.like(pattern, escape="\\"))
    if status:
        query = query.where(Application.status == status)
    return query


def page(
    session: Session, query: Select[Application], offset: int, limit: int
) -> tuple[list[Application], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(Application.networks))
        .order_by(Application.name, Application.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def user_counts(session: Session, app_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not app_ids:
        return {}
    rows = session.execute(
        select(Assignment.application_id, func.count())
        .where(Assignment.application_id.in_(app_ids))
        .group_by(Assignment.application_id)
    )
    return {app_id: int(count) for app_id, count in rows}


def key_counts(session: Session, app_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not app_ids:
        return {}
    rows = session.execute(
        select(ApiKey.application_id, func.count())
        .where(ApiKey.application_id.in_(app_ids))
        .group_by(ApiKey.application_id)
    )
    return {app_id: int(count) for app_id, count in rows}
