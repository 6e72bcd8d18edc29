"""OIDC client settings of the registered applications, and the registry that reads them.

Every application may be an OIDC client: its id is the `client_id`, its
`application` row (the directory's) says whether it is active, and its
`oidc_client` row (the auth service's) holds the redirect URIs, the client
type and the secret's hash. The registry caches both per process for
`CACHE_SECONDS` and drops them the moment an administrator changes a client
or an application (Topic.OIDC_CLIENTS, Topic.API_KEYS), on every replica.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, scope_to_list
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.client_ip import IPNetwork
from shared.invalidation import Topic
from shared.models import AllowedNetwork, Application, OidcClient
from shared.runtime import Runtime
from shared.signing_keys import DEFAULT_ALGORITHM

SCOPES = ("openid", "profile", "email", "phone")
CONFIDENTIAL, PUBLIC = "confidential", "public"
SECRET_PREFIX = "ocs_"
CACHE_SECONDS = 30.0


def new_client_secret() -> tuple[str, str]:
    """(plaintext, SHA-256). 256 random bits, shown once: a plain hash at rest is enough."""
    plaintext = SECRET_PREFIX + secrets.token_urlsafe(32)
    return plaintext, hash_client_secret(plaintext)


def hash_client_secret(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):
    """An application as Authlib sees a client (immutable: a snapshot of both rows)."""

    application_id: uuid.UUID
    name: str
    is_active: bool
    client_type: str
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    token_signing_alg: str
    networks: tuple[IPNetwork, ...] = ()  # the application's allow-list
    client_metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def client_id(self) -> str:
        return str(self.application_id)

    @property
    def id_token_signed_response_alg(self) -> str:
        return self.token_signing_alg

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Never guessed: every request names its redirect URI, matched exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in scope_to_list(scope or "") or [] if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(hash_client_secret(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client_type == PUBLIC:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return self.is_active and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return self.is_active and grant_type in ("authorization_code", "refresh_token")


def load_client(session: Session, application_id: uuid.UUID) -> RegisteredClient | None:
    row = session.execute(
        select(OidcClient, Application.name, Application.status)
        .join(Application, Application.id == OidcClient.application_id)
        .where(OidcClient.application_id == application_id)
    ).first()
    if row is None:
        return None
    settings, name, status = row
    cidrs = session.scalars(
        select(AllowedNetwork.cidr).where(AllowedNetwork.application_id == application_id)
    )
    return RegisteredClient(
        application_id=settings.application_id,
        name=name,
        is_active=status == "active",
        client_type=settings.client_type,
        secret_hash=settings.secret_hash,
        redirect_uris=tuple(settings.redirect_uris or ()),
        post_logout_redirect_uris=tuple(settings.post_logout_redirect_uris or ()),
        token_signing_alg=settings.token_signing_alg,
        networks=tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs),
        client_metadata={"post_logout_redirect_uris": list(settings.post_logout_redirect_uris)},
    )


class ClientRegistry:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._entries: dict[uuid.UUID, tuple[float, RegisteredClient | None]] = {}
        self._lock = threading.Lock()
        runtime.bus.subscribe(Topic.OIDC_CLIENTS, self.clear)
        runtime.bus.subscribe(Topic.API_KEYS, self.clear)  # applications changed

    def clear(self) -> None:
        with self._lock:
            self._entries = {}

    def get(self, client_id: str | uuid.UUID | None) -> RegisteredClient | None:
        try:
            application_id = uuid.UUID(str(client_id))
        except ValueError:
            return None
        hit = self._entries.get(application_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        with self._runtime.session_factory() as session:
            client = load_client(session, application_id)
        with self._lock:
            if len(self._entries) > 10_000:  # made-up client ids cannot grow it without bound
                self._entries = {}
            self._entries[application_id] = (time.monotonic() + CACHE_SECONDS, client)
        return client

    def signing_alg(self, audience: str) -> str:
        """The algorithm an application's tokens are signed with (RS256 unless it chose)."""
        client = self.get(audience) if audience != "console" else None
        return client.token_signing_alg if client is not None else DEFAULT_ALGORITHM


_registries: weakref.WeakKeyDictionary[Runtime, ClientRegistry] = weakref.WeakKeyDictionary()


def client_registry(runtime: Runtime) -> ClientRegistry:
    """The process's registry for this runtime (made on first use)."""
    registry = _registries.get(runtime)
    if registry is None:
        registry = _registries[runtime] = ClientRegistry(runtime)
    return registry
