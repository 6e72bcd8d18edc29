"""Registering, editing and deleting consuming applications and their IP allow-lists.

Every change drops the API key cache on every replica (Topic.API_KEYS): the
pipeline's snapshot of an application carries its status and networks, so a
disabled application or a narrowed allow-list must bite on the next request.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directory.applications import repository
from directory.applications.schemas import ApplicationCreate, ApplicationOut, ApplicationUpdate
from directory.trail import announce
from shared.admin_auth import AdminIdentity
from shared.admin_trail import record_admin_action
from shared.audit import EventType, changed_fields
from shared.client_ip import normalize_network
from shared.errors import Conflict, NotFound, Unprocessable
from shared.invalidation import Topic
from shared.models import AllowedNetwork, Application
from shared.models.base import utcnow
from shared.runtime import Runtime

MAX_NETWORKS = 100


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    message = "Application not found."


class DuplicateApplication(Conflict):
    code = "duplicate"
    message = "An application with this name already exists."


class ApplicationInUse(Conflict):
    code = "application_in_use"


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(message, code="validation_error", field=field)


def normalize_networks(values: list[str]) -> list[str]:
    """Validated, normalised (host bits cleared) and de-duplicated, in the order given."""
    networks: list[str] = []
    for value in values:
        try:
            network = normalize_network(value)
        except ValueError as exc:
            raise _invalid(
                "allowed_ips", f"'{value}' is not a valid IPv4/IPv6 address or CIDR."
            ) from exc
        if network not in networks:
            networks.append(network)
    if len(networks) > MAX_NETWORKS:
        raise _invalid("allowed_ips", f"At most {MAX_NETWORKS} allowed networks per application.")
    return networks


def snapshot(app: Application) -> dict[str, Any]:
    return {
        "name": app.name,
        "status": app.status,
        "require_mfa": bool(app.require_mfa),
        "allowed_ips": [n.cidr for n in app.networks],
    }


def to_out(app: Application, users: int, keys: int) -> ApplicationOut:
    allowed = [n.cidr for n in app.networks]
    return ApplicationOut(
        id=app.id,
        name=app.name,
        allowed_ips=allowed,
        status=app.status,
        require_mfa=bool(app.require_mfa),
        accepts_requests=app.status == "active" and bool(allowed),
        users=users,
        keys=keys,
        created_at=app.created_at,
        updated_at=app.updated_at,
    )


def application_out(session: Session, app: Application) -> ApplicationOut:
    users = repository.user_counts(session, [app.id]).get(app.id, 0)
    keys = repository.key_counts(session, [app.id]).get(app.id, 0)
    return to_out(app, users, keys)


def get_application(session: Session, application_id: uuid.UUID) -> Application:
    app = repository.get(session, application_id)
    if app is None:
        raise ApplicationNotFound()
    return app


def _ensure_unique_name(session: Session, name: str, exclude_id: uuid.UUID | None = None) -> None:
    if repository.find_by_name(session, name, exclude_id):
        raise DuplicateApplication(field="name")


def _flush_unique(session: Session) -> None:
    """Flush, turning a unique-name race (two admins at once) into the same 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicateApplication(field="name") from exc


def _set_networks(app: Application, cidrs: list[str]) -> None:
    # Keep rows whose CIDR stays: deleting and re-inserting the same CIDR in
    # one flush would trip the (application_id, cidr) unique index.
    existing = {n.cidr: n for n in app.networks}
    networks = []
    for position, cidr in enumerate(cidrs):
        network = existing.get(cidr) or AllowedNetwork(cidr=cidr)
        network.position = position
        networks.append(network)
    app.networks = networks


def create_application(
    session: Session, runtime: Runtime, admin: AdminIdentity, data: ApplicationCreate
) -> Application:
    cidrs = normalize_networks(data.allowed_ips)
    _ensure_unique_name(session, data.name)
    app = Application(name=data.name, status=data.status, require_mfa=data.require_mfa)
    _set_networks(app, cidrs)
    session.add(app)
    _flush_unique(session)
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_APP_CREATED,
        application_id=app.id,
        details={"after": snapshot(app)},
    )
    announce(session, runtime, topics=(Topic.API_KEYS,))
    return app


def update_application(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    application_id: uuid.UUID,
    data: ApplicationUpdate,
) -> Application:
    app = get_application(session, application_id)
    sent = data.model_dump(exclude_unset=True)
    for key, value in sent.items():
        if value is None:
            raise _invalid(key, f"{key} cannot be null.")
    cidrs = normalize_networks(sent["allowed_ips"]) if "allowed_ips" in sent else None
    if "name" in sent:
        _ensure_unique_name(session, sent["name"], exclude_id=app.id)
    before = snapshot(app)
    if "name" in sent:
        app.name = sent["name"]
    if "status" in sent:
        app.status = sent["status"]
    if "require_mfa" in sent:
        app.require_mfa = sent["require_mfa"]
    if cidrs is not None and cidrs != before["allowed_ips"]:
        _set_networks(app, cidrs)
    diff = changed_fields(before, snapshot(app))
    if not diff["after"]:
        return app
    app.updated_at = utcnow()
    _flush_unique(session)
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_APP_UPDATED,
        application_id=app.id,
        details=diff,
    )
    announce(session, runtime, topics=(Topic.API_KEYS,))
    return app


def delete_application(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    application_id: uuid.UUID,
    *,
    force: bool,
) -> None:
    app = get_application(session, application_id)
    users = repository.user_counts(session, [app.id]).get(app.id, 0)
    keys = repository.key_counts(session, [app.id]).get(app.id, 0)
    if (users or keys) and not force:
        raise ApplicationInUse(
            f"The application still has {keys} API key(s) and {users} assigned user(s); "
            "delete with force=true to remove them too.",
            users=users,
            keys=keys,
        )
    before = snapshot(app)
    # Keys, assignments, sync entries and the app's sessions go with it (ON DELETE CASCADE).
    session.delete(app)
    session.flush()
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_APP_DELETED,
        application_id=application_id,
        details={"before": before, "removed_keys": keys, "removed_assignments": users},
    )
    announce(session, runtime, topics=(Topic.API_KEYS,))
