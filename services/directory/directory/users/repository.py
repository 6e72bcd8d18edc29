"""SQL for users and their assignments."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from shared.models import Application, Assignment, UserAccount


def find_by_unique(
    session: Session, field: str, value: str, exclude_id: uuid.UUID | None = None
) -> UserAccount | None:
    column = getattr(UserAccount, field)
    query = select(UserAccount).where(column == value)
    if exclude_id is not None:
        query = query.where(UserAccount.id != exclude_id)
    return session.scalar(query.limit(1))


def applications_of(
    session: Session, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    result: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    if not user_ids:
        return result
    rows = session.execute(
        select(Assignment.user_id, Application.id, Application.name)
        .join(Application, Application.id == Assignment.application_id)
        .where(Assignment.user_id.in_(user_ids))
        .order_by(Application.name)
    )
    for user_id, app_id, app_name in rows:
        result[user_id].append((app_id, app_name))
    return result


def filtered_users(
    q: str | None,
    status: str | None,
    application_id: uuid.UUID | None,
    is_admin: bool | None,
) -> Select[UserAccount]:
    query = select(UserAccount)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                UserAccount.name.like(pattern, escape="\\"),
                UserAccount.email.like(pattern, escape="\\"),
                UserAccount.mobile_number.like(pattern, escape="\\"),
                UserAccount.emp_id.like(pattern, escape="\\"),
            )
        )
    if status:
        query = query.where(UserAccount.status == status)
    if is_admin is not None:
        query = query.where(UserAccount.is_admin.is_(is_admin))
    if application_id is not None:
        query = query.where(
            UserAccount.id.in_(
                select(Assignment.user_id).where(Assignment.application_id == application_id)
            )
        )
    return query


def page_users(
    session: Session, query: Select[UserAccount], offset: int, limit: int
) -> tuple[list[UserAccount], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(UserAccount.name, UserAccount.id).offset(offset).limit(limit)
    ).all()
    return list(rows), int(total)


def assigned_app_ids(session: Session, user_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.scalars(select(Assignment.application_id).where(Assignment.user_id == user_id))
    )


def existing_app_ids(session: Session, app_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not app_ids:
        return set()
    return set(session.scalars(select(Application.id).where(Application.id.in_(app_ids))))


def export_rows(
    session: Session, query: Select[UserAccount], batch: int = 1000
) -> Iterator[list[object]]:
    """Users in the import's column order, read in keyset-paged batches (flat memory)."""
    last_id: uuid.UUID | None = None
    while True:
        page = query.order_by(UserAccount.id).limit(batch)
        if last_id is not None:
            page = page.where(UserAccount.id > last_id)
        users = session.scalars(page).all()
        if not users:
            return
        apps = applications_of(session, [u.id for u in users])
        for user in users:
            names = ";".join(name for _, name in apps.get(user.id, []))
            yield [
                user.name,
                user.mobile_number,
                user.email,
                user.emp_id,
                names,
                "true" if user.is_admin else "false",
                user.status,
            ]
        session.expunge_all()
        last_id = users[-1].id
