"""Authlib's authorization server on this service's requests, sessions and responses.

Authlib is synchronous and reads a request's parameters through an
`OAuth2Request`; `OidcRequest` is one built from a Starlette request whose
query and form were read beforehand, carrying the transaction (`db`) and the
runtime the grants need. The endpoints run in a worker thread.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams
from starlette.responses import Response

from auth.context import SignInContext
from auth.oidc.clients import SCOPES, RegisteredClient, client_registry
from auth.oidc.grants import CodeGrant, IdToken, PkceS256, RefreshGrant
from shared.runtime import Runtime
from shared.settings import Environment


class _Payload(OAuth2Payload):
    def __init__(self, values: list[tuple[str, str]]) -> None:
        self._data = dict(values)  # the last of repeated ones; Authlib refuses repeats
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in values:
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class OidcRequest(OAuth2Request):
    """One OAuth request with what answering it needs: the transaction and the caller."""

    def __init__(
        self,
        *,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: QueryParams,
        form: FormData | None,
        db: Session,
        runtime: Runtime,
        ctx: SignInContext | None = None,
    ) -> None:
        # Authlib's transport check would refuse the plain-http issuer of a local stack;
        # `require_secure_issuer` makes the same decision with the deployment in mind.
        self.method, self.uri, self.headers = method, uri, headers
        self.payload = None
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self._body = None
        self._args = dict(query.multi_items())
        self._form = {key: str(value) for key, value in (form.multi_items() if form else [])}
        values = [*query.multi_items()]
        if form is not None:
            values += [(key, str(value)) for key, value in form.multi_items()]
        self.payload = _Payload(values)
        self.db = db
        self.runtime = runtime
        self.ctx = ctx
        self.code_reuse: str | None = None  # set when a code was presented a second time
        self.issue_tokens: Any = None  # (SignedInUser, scope) -> token dict, set by the router
        self.rotate_refresh: Any = None  # (plaintext) -> token dict, set by the router
        self.audit: Any = None  # (event, user_id, details), set by the router
        self.end_provider_session: Any = None  # (validated logout request), by the router

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


def require_secure_issuer(runtime: Runtime) -> bool:
    """OIDC needs TLS: in production the issuer must be https (or a loopback/.localhost name)."""
    parts = urlsplit(runtime.tokens.issuer)
    if parts.scheme == "https" or runtime.settings.env is not Environment.PRODUCTION:
        return True
    host = parts.hostname or ""
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")


class OidcServer(AuthorizationServer):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.runtime = runtime
        self.registry = client_registry(runtime)
        self.register_grant(CodeGrant, [PkceS256(required=True), IdToken(runtime)])
        self.register_grant(RefreshGrant)

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.registry.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        pass  # the grants store sessions and refresh tokens as they issue them

    def create_oauth2_request(self, request: Any) -> Any:
        return request  # always an OidcRequest, built by the router

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        pairs = dict(headers or [])
        if isinstance(body, dict):
            content: bytes | str = orjson.dumps(body)
            pairs.setdefault("Content-Type", "application/json")
        else:
            content = body or ""
        return Response(content, status_code=status, headers=pairs)
