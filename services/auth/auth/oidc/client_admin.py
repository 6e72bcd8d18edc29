"""`/auth/admin/oidc/clients/{application_id}`: an application's OpenID Connect settings.

Redirect URIs are matched exactly, so they are stored exactly: absolute,
https (or http on a loopback address, RFC 8252), no fragment, no wildcard.
The client secret of a confidential client is shown once and stored only as
its SHA-256. Every change is audited and reaches every replica at once.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.oidc.clients import CONFIDENTIAL, PUBLIC, new_client_secret
from shared.admin_auth import AdminIdentity, CurrentAdmin
from shared.admin_trail import record_admin_action
from shared.after_commit import defer
from shared.audit import EventType
from shared.db import DbSession
from shared.errors import NotFound, error_responses
from shared.invalidation import Topic
from shared.models import Application, OidcClient
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.signing_keys import DEFAULT_ALGORITHM

MAX_URIS = 10
LOOPBACK_NAMES = {"localhost"}


def _redirect_uri(value: str) -> str:
    if any(ch.isspace() for ch in value) or len(value) > 512:
        raise ValueError("a redirect URI is one absolute URL of at most 512 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if parts.fragment or "#" in value:
        raise ValueError(f"{value!r} has a fragment; redirect URIs may not")
    if "*" in value:
        raise ValueError(f"{value!r} has a wildcard; redirect URIs are matched exactly")
    if parts.username or parts.password:
        raise ValueError(f"{value!r} carries credentials")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"{value!r} is plain http; use https (http only for loopback addresses)")
    return value


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


RedirectUri = Annotated[str, AfterValidator(_redirect_uri)]
UriList = Annotated[list[RedirectUri], Field(max_length=MAX_URIS), AfterValidator(_distinct)]


class ClientSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_type: Literal["confidential", "public"] = Field(
        default="confidential",
        description="confidential: a server that keeps a client secret; public: a browser or "
        "native app (no secret; PKCE S256 required)",
    )
    redirect_uris: UriList = Field(min_length=1, description="Matched exactly")
    post_logout_redirect_uris: UriList = Field(default_factory=list)
    token_signing_alg: Literal["RS256", "ES256", "EdDSA"] = "RS256"


class ClientSettingsOut(BaseModel):
    application_id: uuid.UUID
    client_id: str
    enabled: bool = Field(description="Whether the application signs users in over OIDC")
    client_type: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    token_signing_alg: str
    secret_hint: str | None = Field(description="The start of the secret, to tell it apart")
    secret_created_at: datetime | None
    client_secret: str | None = Field(
        default=None, description="Only in the answer that made it: store it now"
    )


def _application(db: Session, application_id: uuid.UUID) -> Application:
    app = db.get(Application, application_id)
    if app is None:
        raise NotFound("Application not found.", code="application_not_found")
    return app


def settings_out(
    application_id: uuid.UUID, row: OidcClient | None, secret: str | None = None
) -> dict[str, Any]:
    return {
        "application_id": application_id,
        "client_id": str(application_id),
        "enabled": row is not None,
        "client_type": row.client_type if row else CONFIDENTIAL,
        "redirect_uris": list(row.redirect_uris) if row else [],
        "post_logout_redirect_uris": list(row.post_logout_redirect_uris) if row else [],
        "token_signing_alg": row.token_signing_alg if row else DEFAULT_ALGORITHM,
        "secret_hint": row.secret_hint if row else None,
        "secret_created_at": row.secret_created_at if row else None,
        "client_secret": secret,
    }


def _give_secret(row: OidcClient) -> str:
    plaintext, digest = new_client_secret()
    row.secret_hash, row.secret_hint = digest, plaintext[:8]
    row.secret_created_at = utcnow()
    return plaintext


def _changed(db: Session, runtime: Runtime) -> None:
    db.flush()
    defer(db, lambda: runtime.bus.publish(Topic.OIDC_CLIENTS))


def save_settings(
    db: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    application_id: uuid.UUID,
    body: ClientSettingsIn,
) -> dict[str, Any]:
    _application(db, application_id)
    row = db.get(OidcClient, application_id)
    before = settings_out(application_id, row)
    if row is None:
        row = OidcClient(application_id=application_id, created_at=utcnow())
        db.add(row)
    row.client_type = body.client_type
    row.redirect_uris = list(body.redirect_uris)
    row.post_logout_redirect_uris = list(body.post_logout_redirect_uris)
    row.token_signing_alg = body.token_signing_alg
    row.updated_at = utcnow()
    secret = None
    if body.client_type == PUBLIC:
        row.secret_hash = row.secret_hint = row.secret_created_at = None
    elif row.secret_hash is None:
        secret = _give_secret(row)
    _changed(db, runtime)
    after = settings_out(application_id, row)
    fields = ("client_type", "redirect_uris", "post_logout_redirect_uris", "token_signing_alg")
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.ADMIN_OIDC_CLIENT_UPDATED,
        application_id=application_id,
        details={
            "before": {k: before[k] for k in ("enabled", *fields)},
            "after": {k: after[k] for k in ("enabled", *fields)},
            # (A field named like a secret would be masked in the audit log.)
            "client_auth": "none (public)"
            if body.client_type == PUBLIC
            else ("new secret issued" if secret else "secret unchanged"),
        },
    )
    return settings_out(application_id, row, secret)


router = APIRouter(
    prefix="/auth/admin/oidc/clients",
    tags=["console: OpenID Connect clients"],
    responses=error_responses(401, 403, 404, 422),
)


@router.get("", response_model=list[ClientSettingsOut])
def list_clients(db: DbSession, _: CurrentAdmin) -> Any:
    """Every application's OIDC settings (applications without them are not listed)."""
    rows = db.scalars(select(OidcClient).order_by(OidcClient.created_at))
    return [settings_out(row.application_id, row) for row in rows]


@router.get("/{application_id}", response_model=ClientSettingsOut)
def get_client(db: DbSession, _: CurrentAdmin, application_id: uuid.UUID) -> Any:
    """An application's OIDC settings (`enabled: false` until some are saved)."""
    _application(db, application_id)
    return settings_out(application_id, db.get(OidcClient, application_id))


@router.put("/{application_id}", response_model=ClientSettingsOut)
def put_client(
    request: Request,
    db: DbSession,
    admin: CurrentAdmin,
    application_id: uuid.UUID,
    body: ClientSettingsIn,
) -> Any:
    """Save an application's OIDC settings (a new confidential client's secret is in the answer)."""
    return save_settings(db, request.app.state.runtime, admin, application_id, body)


@router.post("/{application_id}/secret", response_model=ClientSettingsOut)
def rotate_secret(
    request: Request, db: DbSession, admin: CurrentAdmin, application_id: uuid.UUID
) -> Any:
    """A new client secret for a confidential client (the old one stops working at once)."""
    runtime = request.app.state.runtime
    _application(db, application_id)
    row = db.get(OidcClient, application_id)
    if row is None or row.client_type != CONFIDENTIAL:
        raise NotFound(
            "This application is not a confidential OIDC client.", code="not_a_confidential_client"
        )
    secret = _give_secret(row)
    row.updated_at = utcnow()
    _changed(db, runtime)
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.ADMIN_OIDC_CLIENT_SECRET_ROTATED,
        application_id=application_id,
        details={"secret_hint": row.secret_hint},
    )
    return settings_out(application_id, row, secret)


@router.delete("/{application_id}", status_code=204)
def delete_client(
    request: Request, db: DbSession, admin: CurrentAdmin, application_id: uuid.UUID
) -> Response:
    """Stop the application signing users in over OIDC (its sessions stay until they end)."""
    runtime = request.app.state.runtime
    _application(db, application_id)
    row = db.get(OidcClient, application_id)
    if row is not None:
        db.delete(row)
        _changed(db, runtime)
        record_admin_action(
            db, runtime, admin, EventType.ADMIN_OIDC_CLIENT_DELETED, application_id=application_id
        )
    return Response(status_code=204)
