"""Creating, listing and deleting applications' API auth keys.

The plaintext key exists only in the create response; the database keeps
its SHA-256. Every change drops the key cache on every replica, so a deleted
key fails on the next request.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from directory.applications.service import get_application
from directory.keys.schemas import ApiKeyCreated, ApiKeyOut, ApiKeyPage
from directory.keys.usage import pending_last_used
from directory.trail import announce
from shared.admin_auth import AdminIdentity
from shared.admin_trail import record_admin_action
from shared.audit import EventType
from shared.errors import NotFound
from shared.invalidation import Topic
from shared.models import ApiKey, Application
from shared.runtime import Runtime
from shared.security.api_keys import NewApiKey, generate_api_key


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "API auth key not found."


def _described(key: ApiKey, application_name: str) -> dict[str, Any]:
    """What the audit log says about a key: never the key or its hash."""
    return {
        "key_id": str(key.id),
        "prefix": key.prefix,
        "application_name": application_name,
        "status": key.status,
    }


def _to_out(key: ApiKey, application_name: str, pending: dict[uuid.UUID, datetime]) -> ApiKeyOut:
    # The pipelines' latest use may still be waiting in Redis for the mover.
    last_used = key.last_used_at
    waiting = pending.get(key.id)
    if waiting is not None and (last_used is None or waiting > last_used):
        last_used = waiting
    return ApiKeyOut(
        key_id=key.id,
        application_id=key.application_id,
        application_name=application_name,
        prefix=key.prefix,
        status=key.status,
        created_at=key.created_at,
        last_used_at=last_used,
    )


def _keys_with_app(application_id: uuid.UUID | None) -> Select[ApiKey, str]:
    query = select(ApiKey, Application.name).join(
        Application, Application.id == ApiKey.application_id
    )
    if application_id is not None:
        query = query.where(ApiKey.application_id == application_id)
    return query


def _outs(runtime: Runtime, rows: list[tuple[ApiKey, str]]) -> list[ApiKeyOut]:
    pending = pending_last_used(runtime, [key.id for key, _ in rows])
    return [_to_out(key, name, pending) for key, name in rows]


def page_keys(
    session: Session,
    runtime: Runtime,
    application_id: uuid.UUID | None,
    offset: int,
    limit: int,
) -> ApiKeyPage:
    query = _keys_with_app(application_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(ApiKey.created_at.desc(), ApiKey.id.desc()).offset(offset).limit(limit)
    ).all()
    items = _outs(runtime, [(key, name) for key, name in rows])
    return ApiKeyPage(items=items, total=int(total), offset=offset, limit=limit)


def application_keys(
    session: Session, runtime: Runtime, application_id: uuid.UUID
) -> list[ApiKeyOut]:
    get_application(session, application_id)
    rows = session.execute(
        _keys_with_app(application_id).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    ).all()
    return _outs(runtime, [(key, name) for key, name in rows])


def _unused_key(session: Session) -> NewApiKey:
    # Prefixes are 8 random characters; a clash is rare but would break lookups.
    for _ in range(5):
        new = generate_api_key()
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == new.prefix)) is None:
            return new
    raise RuntimeError("could not find an unused API key prefix")


def create_key(
    session: Session, runtime: Runtime, admin: AdminIdentity, application_id: uuid.UUID
) -> ApiKeyCreated:
    app = get_application(session, application_id)
    new = _unused_key(session)
    key = ApiKey(application_id=app.id, prefix=new.prefix, key_hash=new.key_hash, status="active")
    session.add(key)
    session.flush()
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_KEY_CREATED,
        application_id=app.id,
        details={"after": _described(key, app.name)},
    )
    announce(session, runtime, topics=(Topic.API_KEYS,))
    out = _to_out(key, app.name, {})
    return ApiKeyCreated(**out.model_dump(), api_key=new.plaintext)


def delete_key(session: Session, runtime: Runtime, admin: AdminIdentity, key_id: uuid.UUID) -> None:
    row = session.execute(_keys_with_app(None).where(ApiKey.id == key_id)).first()
    if row is None:
        raise ApiKeyNotFound()
    key, application_name = row
    before = _described(key, application_name)
    session.delete(key)
    session.flush()
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_KEY_DELETED,
        application_id=key.application_id,
        details={"before": before},
    )
    announce(session, runtime, topics=(Topic.API_KEYS,))
