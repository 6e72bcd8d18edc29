"""Who a sign-in is for: a consuming application (token audience = its id) or the console."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import Request

from shared.client_ip import ClientAddress, resolve_client_ip
from shared.pipeline import CallerContext
from shared.runtime import Runtime
from shared.tokens import CONSOLE_AUDIENCE


@dataclass(frozen=True)
class SignInContext:
    audience: str
    application_id: uuid.UUID | None  # None for the console
    application_name: str | None
    client: ClientAddress
    user_agent: str | None

    @property
    def is_console(self) -> bool:
        return self.application_id is None

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
        runtime: Runtime = request.app.state.runtime
        peer = request.client.host if request.client else None
        client = resolve_client_ip(
            peer,
            request.headers.get("x-forwarded-for"),
            runtime.settings.trusted_proxy_networks,
        )
        return cls(
            audience=CONSOLE_AUDIENCE,
            application_id=None,
            application_name=None,
            client=client,
            user_agent=request.headers.get("user-agent"),
        )
