"""Creating, editing and deleting directory users, and assigning them to applications."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directory.sync.feed import allocate_seqs, refresh_user_entries, remove_user_entries
from directory.trail import announce
from directory.users import repository
from directory.users.schemas import (
    AppRef,
    BulkAssignment,
    UserCreate,
    UserOut,
    UserUpdate,
)
from shared.admin_auth import AdminIdentity
from shared.admin_trail import record_admin_action
from shared.audit import EventType, changed_fields
from shared.contact import InvalidContact, mask_destination, normalize_email, normalize_mobile
from shared.directory_events import DirectoryEvent, DirectoryEventType
from shared.errors import Conflict, NotFound, Unprocessable
from shared.invalidation import Topic
from shared.models import Assignment, UserAccount
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.security.password_policy import check_password
from shared.sync_contract import compute_sync_hash

UNIQUE_FIELDS = ("email", "mobile_number", "emp_id")
CONTACT_FIELDS = ("email", "mobile_number")
FIELD_LABELS = {"email": "email address", "mobile_number": "mobile number", "emp_id": "employee ID"}


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "User not found."


class DuplicateUser(Conflict):
    code = "duplicate"


class ContactRequired(Unprocessable):
    code = "contact_required"
    message = "A user needs an email address or a mobile number."


class UnknownApplication(Unprocessable):
    code = "unknown_application"
    message = "One or more applications do not exist."


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(message, code="validation_error", field=field)


def snapshot(user: UserAccount) -> dict[str, Any]:
    return {
        "name": user.name,
        "email": user.email,
        "mobile_number": user.mobile_number,
        "emp_id": user.emp_id,
        "mobile_carrier": user.mobile_carrier,
        "status": user.status,
        "is_admin": user.is_admin,
        "mfa_enabled": user.mfa_enabled,
    }


def audited(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as the audit log keeps them: contact data masked, like every destination in it
    (events are kept for a year and exported as CSV). Diff before masking: a change the mask
    hides (`anne@` to `amie@`) is still listed as a change."""
    return {k: mask_destination(v) if k in CONTACT_FIELDS and v else v for k, v in fields.items()}


def to_out(user: UserAccount, apps: list[tuple[uuid.UUID, str]]) -> UserOut:
    return UserOut(
        auth_user_id=user.id,
        name=user.name,
        mobile_number=user.mobile_number,
        email=user.email,
        emp_id=user.emp_id,
        status=user.status,
        updated_at=user.updated_at,
        sync_hash=user.sync_hash,
        is_admin=user.is_admin,
        mfa_enabled=user.mfa_enabled,
        has_password=user.password_hash is not None,
        mobile_carrier=user.mobile_carrier,
        applications=[AppRef(id=app_id, name=name) for app_id, name in apps],
        created_at=user.created_at,
    )


def normalize_contact_fields(fields: dict[str, Any], default_region: str) -> dict[str, Any]:
    """Normalise email/mobile/emp_id in place of what was sent; '' clears an optional field."""
    out = dict(fields)
    try:
        if out.get("email"):
            out["email"] = normalize_email(out["email"])
        if out.get("mobile_number"):
            out["mobile_number"] = normalize_mobile(out["mobile_number"], default_region)
    except InvalidContact as exc:
        raise _invalid(exc.field, exc.message) from exc
    for key in ("email", "mobile_number", "emp_id", "mobile_carrier"):
        if key in out and not out[key]:
            out[key] = None
    return out


def ensure_unique(
    session: Session, fields: dict[str, Any], exclude_id: uuid.UUID | None = None
) -> None:
    for field in UNIQUE_FIELDS:
        value = fields.get(field)
        if value and repository.find_by_unique(session, field, value, exclude_id):
            raise DuplicateUser(
                f"A user with this {FIELD_LABELS[field]} already exists.", field=field
            )


def _flush_unique(session: Session) -> None:
    """Flush, turning a unique-index race (two admins at once) into the same 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        text = str(exc.orig).lower()
        field = next((f for f in UNIQUE_FIELDS if f in text), "email")
        raise DuplicateUser(
            f"A user with this {FIELD_LABELS[field]} already exists.", field=field
        ) from exc


def _apply_password(runtime: Runtime, user: UserAccount, password: str) -> None:
    check_password(
        password,
        min_length=runtime.settings.password_min_length,
        personal=[user.name, user.email, user.mobile_number],
    )
    user.password_hash = runtime.passwords.hash(password)


def get_user(session: Session, user_id: uuid.UUID) -> UserAccount:
    user = session.get(UserAccount, user_id)
    if user is None:
        raise UserNotFound()
    return user


def user_out(session: Session, user: UserAccount) -> UserOut:
    return to_out(user, repository.applications_of(session, [user.id]).get(user.id, []))


def create_user(
    session: Session, runtime: Runtime, admin: AdminIdentity, data: UserCreate
) -> UserAccount:
    fields = normalize_contact_fields(
        data.model_dump(exclude={"password", "application_ids"}), runtime.settings.default_region
    )
    if not fields.get("email") and not fields.get("mobile_number"):
        raise ContactRequired()
    ensure_unique(session, fields)
    app_ids = list(dict.fromkeys(data.application_ids))
    if len(repository.existing_app_ids(session, app_ids)) != len(app_ids):
        raise UnknownApplication()
    user = UserAccount(**fields, sync_hash=compute_sync_hash(fields))
    if data.password:
        _apply_password(runtime, user, data.password)
    session.add(user)
    _flush_unique(session)
    for app_id in app_ids:
        session.add(Assignment(user_id=user.id, application_id=app_id))
    session.flush()
    refresh_user_entries(session, user)
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_USER_CREATED,
        subject_user_id=user.id,
        details={"after": audited(snapshot(user)), "application_ids": [str(a) for a in app_ids]},
    )
    return user


def update_user(
    session: Session, runtime: Runtime, admin: AdminIdentity, user_id: uuid.UUID, data: UserUpdate
) -> UserAccount:
    user = get_user(session, user_id)
    before = snapshot(user)
    sent = data.model_dump(exclude_unset=True, exclude={"password"})
    for key in ("name", "status", "is_admin", "mfa_enabled"):
        if key in sent and sent[key] is None:
            raise _invalid(key, f"{key} cannot be null.")
    fields = normalize_contact_fields(sent, runtime.settings.default_region)
    merged = {**before, **fields}
    if not merged.get("email") and not merged.get("mobile_number"):
        raise ContactRequired()
    ensure_unique(session, fields, exclude_id=user.id)
    if admin.id == user.id and (merged["status"] != "active" or not merged["is_admin"]):
        raise Unprocessable(
            "You cannot disable or demote your own administrator account.", code="self_lockout"
        )
    for key, value in fields.items():
        setattr(user, key, value)
    password_changed = bool(data.password)
    if data.password:
        _apply_password(runtime, user, data.password)
    after = snapshot(user)
    diff = changed_fields(before, after)
    if not diff["after"] and not password_changed:
        return user
    user.sync_hash = compute_sync_hash(after)
    user.updated_at = utcnow()
    _flush_unique(session)
    if any(
        k in diff["after"]
        for k in ("name", "email", "mobile_number", "emp_id", "status", "is_admin")
    ):
        refresh_user_entries(session, user)
    details = {"before": audited(diff["before"]), "after": audited(diff["after"])}
    if password_changed:
        details["after"]["password"] = "changed"
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_USER_UPDATED,
        subject_user_id=user.id,
        details=details,
    )
    events = [DirectoryEvent(type=DirectoryEventType.USER_UPDATED, user_id=str(user.id))]
    if before["status"] == "active" and user.status == "disabled":
        events.append(DirectoryEvent(type=DirectoryEventType.USER_DISABLED, user_id=str(user.id)))
    if password_changed:
        events.append(
            DirectoryEvent(type=DirectoryEventType.USER_PASSWORD_CHANGED, user_id=str(user.id))
        )
    announce(session, runtime, events, (Topic.USERS,))
    return user


def delete_user(
    session: Session, runtime: Runtime, admin: AdminIdentity, user_id: uuid.UUID
) -> None:
    user = get_user(session, user_id)
    if user.id == admin.id:
        raise Unprocessable("You cannot delete your own account.", code="self_lockout")
    before = snapshot(user)
    remove_user_entries(session, user.id)
    session.delete(user)
    session.flush()
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_USER_DELETED,
        subject_user_id=user_id,
        details={"before": audited(before)},
    )
    announce(
        session,
        runtime,
        [DirectoryEvent(type=DirectoryEventType.USER_DELETED, user_id=str(user_id))],
        (Topic.USERS,),
    )


def _apply_assignments(
    session: Session, user: UserAccount, wanted: set[uuid.UUID], current: set[uuid.UUID]
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    added, removed = wanted - current, current - wanted
    for app_id in added:
        session.add(Assignment(user_id=user.id, application_id=app_id))
    if removed:
        session.execute(
            delete(Assignment).where(
                Assignment.user_id == user.id, Assignment.application_id.in_(removed)
            )
        )
    session.flush()
    return added, removed


def set_assignments(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    user_id: uuid.UUID,
    application_ids: list[uuid.UUID],
) -> UserAccount:
    user = get_user(session, user_id)
    wanted = set(application_ids)
    if len(repository.existing_app_ids(session, list(wanted))) != len(wanted):
        raise UnknownApplication()
    current = repository.assigned_app_ids(session, user.id)
    added, removed = _apply_assignments(session, user, wanted, current)
    if not added and not removed:
        return user
    refresh_user_entries(session, user)
    _record_assignment_change(session, runtime, admin, user.id, added, removed)
    return user


def _record_assignment_change(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    user_id: uuid.UUID,
    added: set[uuid.UUID],
    removed: set[uuid.UUID],
) -> None:
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_USER_ASSIGNMENTS,
        subject_user_id=user_id,
        details={"assigned": sorted(map(str, added)), "unassigned": sorted(map(str, removed))},
    )
    if removed:
        event = DirectoryEvent(
            type=DirectoryEventType.USER_UNASSIGNED,
            user_id=str(user_id),
            application_ids=sorted(map(str, removed)),
        )
        announce(session, runtime, [event], (Topic.USERS,))


def bulk_assign(
    session: Session, runtime: Runtime, admin: AdminIdentity, data: BulkAssignment
) -> int:
    app_ids = set(data.application_ids)
    if len(repository.existing_app_ids(session, list(app_ids))) != len(app_ids):
        raise UnknownApplication()
    user_ids = list(dict.fromkeys(data.user_ids))
    users = session.scalars(select(UserAccount).where(UserAccount.id.in_(user_ids))).all()
    if len(users) != len(user_ids):
        raise UserNotFound("One or more users do not exist.")
    changed = 0
    # One seq per user: seq is unique within an application's feed.
    first_seq = allocate_seqs(session, len(users))
    for offset, user in enumerate(users):
        current = repository.assigned_app_ids(session, user.id)
        wanted = current | app_ids if data.action == "assign" else current - app_ids
        added, removed = _apply_assignments(session, user, wanted, current)
        if added or removed:
            changed += 1
            refresh_user_entries(session, user, first_seq + offset)
            _record_assignment_change(session, runtime, admin, user.id, added, removed)
    return changed
