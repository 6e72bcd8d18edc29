"""Reading the directory (users and assignments) the way sign-in needs it. Read-only.

The directory owns `user_account`; the one write the auth service makes to it is
`password_hash` (a password reset, or a re-hash with newer argon2 parameters).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from auth.errors import NotAssigned, UserDisabled, UserNotFound
from shared.contact import InvalidContact, Login, parse_login
from shared.errors import Unprocessable
from shared.models import Assignment, UserAccount


def parse_login_field(value: str, default_region: str) -> Login:
    """The login normalised as the directory stores it, or a 422 naming the field."""
    try:
        return parse_login(value, default_region)
    except InvalidContact as exc:
        raise Unprocessable(
            f"login: {exc.message}",
            code="validation_error",
            fields=[{"field": "login", "message": exc.message}],
        ) from exc


def _user_by(column: Any, application: bool) -> Any:
    """The user whose `column` is `:value` and, for an application, whether they are
    assigned to it."""
    if not application:
        return select(UserAccount).where(column == bindparam("value"))
    assigned = exists().where(
        Assignment.user_id == UserAccount.id,
        Assignment.application_id == bindparam("application_id"),
    )
    return select(UserAccount, assigned).where(column == bindparam("value"))


# Built once (sign-in's hot path): building a statement and its cache key each time
# cost about as much CPU as running it.
_USER_BY = {
    (kind, application): _user_by(column, application)
    for kind, column in (
        ("email", UserAccount.email),
        ("mobile_number", UserAccount.mobile_number),
        ("id", UserAccount.id),
    )
    for application in (False, True)
}


def find_user(session: Session, login: Login) -> UserAccount | None:
    return session.scalar(_USER_BY[login.kind, False], {"value": login.value})


def find_user_for_app(
    session: Session, login: Login, application_id: uuid.UUID | None
) -> tuple[UserAccount | None, bool]:
    """The user with this login and whether they are assigned to `application_id`, in one
    query (sign-in's hot path); pass the flag on to `require_app_user`."""
    return _user_for_app(session, login.kind, login.value, application_id)


def get_user_for_app(
    session: Session, user_id: uuid.UUID, application_id: uuid.UUID | None
) -> tuple[UserAccount | None, bool]:
    """`find_user_for_app` by the user's id (a code's or token's user)."""
    return _user_for_app(session, "id", user_id, application_id)


def _user_for_app(
    session: Session, kind: str, value: Any, application_id: uuid.UUID | None
) -> tuple[UserAccount | None, bool]:
    if application_id is None:
        return session.scalar(_USER_BY[kind, False], {"value": value}), False
    params = {"value": value, "application_id": application_id}
    row = session.execute(_USER_BY[kind, True], params).first()
    return (row[0], bool(row[1])) if row else (None, False)


_ASSIGNMENT = select(Assignment.user_id).where(
    Assignment.user_id == bindparam("user_id"),
    Assignment.application_id == bindparam("application_id"),
)


def is_assigned(session: Session, user_id: uuid.UUID, application_id: uuid.UUID) -> bool:
    params = {"user_id": user_id, "application_id": application_id}
    return session.scalar(_ASSIGNMENT, params) is not None


def require_app_user(
    session: Session,
    user: UserAccount | None,
    application_id: uuid.UUID | None,
    *,
    assigned: bool | None = None,
    account: bool = False,
) -> UserAccount:
    """The seed's checks, in its order: in the directory, active, assigned to this application.

    With no application (the console) the user must be an active administrator;
    for the account page (`account`) being active is enough.
    `assigned`: what `find_user_for_app` read, so the assignment is not queried again.
    """
    if user is None:
        raise UserNotFound()
    if user.status != "active":
        raise UserDisabled()
    if account:
        return user
    if application_id is None:
        if not user.is_admin:
            raise NotAssigned("Administrator access only.")
    elif not (is_assigned(session, user.id, application_id) if assigned is None else assigned):
        raise NotAssigned()
    return user


def iso(moment: datetime) -> str:
    """UTC with a `Z`, exactly as the response models (and `/users/sync`) write it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user_payload(user: UserAccount) -> dict[str, Any]:
    """The `user` object (DESIGN.md §5), JSON-ready."""
    return {
        "auth_user_id": str(user.id),
        "name": user.name,
        "mobile_number": user.mobile_number,
        "email": user.email,
        "emp_id": user.emp_id,
        "status": user.status,
        "updated_at": iso(user.updated_at),
        "sync_hash": user.sync_hash,
    }
