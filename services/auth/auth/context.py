"""Who a sign-in is for: a consuming application (token audience = its id), the console, or
the user's own account page at the provider."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import Request

from shared.client_ip import ClientAddress, resolve_client_ip
from shared.pipeline import CallerContext
from shared.runtime import Runtime
from shared.tokens import CONSOLE_AUDIENCE

ACCOUNT_AUDIENCE = "identity-account"  # the account page: a provider session, no tokens


@dataclass(frozen=True)
class SignInContext:
    audience: str
    application_id: uuid.UUID | None  # None for the console
    application_name: str | None
    client: ClientAddress
    user_agent: str | None

    @property
    def is_console(self) -> bool:
        return self.application_id is None and self.audience == CONSOLE_AUDIENCE

    @property
    def is_account(self) -> bool:
        """The account page: any active user may sign in to it, admin or not, assigned or not."""
        return self.audience == ACCOUNT_AUDIENCE

    @classmethod
    def for_app(cls, caller: CallerContext) -> SignInContext:
        return cls(
            audience=str(caller.app.id),
            application_id=caller.app.id,
            application_name=caller.app.name,
            client=caller.client,
            user_agent=caller.user_agent,
        )

    @classmethod
    def for_console(cls, request: Request) -> SignInContext:
        return cls(
            audience=CONSOLE_AUDIENCE,
            application_id=None,
            application_name=None,
            client=caller_address(request),
            user_agent=request.headers.get("user-agent"),
        )

    @classmethod
    def for_account(cls, request: Request) -> SignInContext:
        return cls(
            audience=ACCOUNT_AUDIENCE,
            application_id=None,
            application_name=None,
            client=caller_address(request),
            user_agent=request.headers.get("user-agent"),
        )

    @classmethod
    def for_client(cls, application_id: uuid.UUID, name: str, request: Request) -> SignInContext:
        """An OIDC client's: a user's browser at the hosted page, or the client's server."""
        return cls(
            audience=str(application_id),
            application_id=application_id,
            application_name=name,
            client=caller_address(request),
            user_agent=request.headers.get("user-agent"),
        )


def caller_address(request: Request) -> ClientAddress:
    """The caller's address as the IP policy judges it (X-Forwarded-For from trusted proxies)."""
    runtime: Runtime = request.app.state.runtime
    peer = request.client.host if request.client else None
    return resolve_client_ip(
        peer, request.headers.get("x-forwarded-for"), runtime.settings.trusted_proxy_networks
    )
