"""Schemathesis against one service's OpenAPI, in-process over ASGI.

Every operation gets a bounded number of schema-conforming (positive) and
schema-violating (negative) requests, signed in as an administrator and
carrying an application's key, so they get past authentication and reach
validation and the handlers. Derandomized, so CI sees the same requests
every run. A response fails when it is a 5xx, when its status or body is not
what the OpenAPI declares, or when an error is not the shared envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.core.transport import Response
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import PEER

# Per operation and mode: enough to hit every validator, small enough that all
# five services run in well under a minute.
MAX_EXAMPLES = 12


# The OpenID Connect endpoints speak OAuth: errors are `{error, error_description}`
# (RFC 6749 5.2), and the pages a browser sees are HTML. Everything else: the envelope.
OAUTH_PREFIX = "/auth/oidc/"


def error_envelope(ctx: CheckContext, response: Response, case: Any) -> bool | None:
    """Every 4xx/5xx from our services is the shared JSON error envelope (OAuth's own
    error, or an HTML page, on the OpenID Connect endpoints)."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if case.path.startswith(OAUTH_PREFIX):
        content_type = response.headers.get("content-type", [""])[0]
        if content_type.startswith("text/html") or (
            isinstance(body, dict) and isinstance(body.get("error"), str)
        ):
            return True
        raise AssertionError(f"{response.status_code} is not an OAuth error: {response.text[:300]}")
    error = body.get("error") if isinstance(body, dict) else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    ):
        raise AssertionError(
            f"{response.status_code} is not the error envelope: {response.text[:300]}"
        )
    return True


CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, error_envelope]


class FromPeer:
    """Presents every request as coming from PEER (the ASGI transport says "testclient",
    which is not an IP address and would fail every application's allow-list)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": PEER}
        await self.app(scope, receive, send)


def fuzz_service(
    app: ASGIApp, openapi_url: str, headers: Callable[[], dict[str, str]]
) -> list[str]:
    """Runs every operation of the app's OpenAPI; returns one line per failing operation.

    `headers` is called afresh for each operation, because some operations
    (sign-out, secret rotation) legitimately end the credentials they were given.
    """
    schema = schemathesis.openapi.from_asgi(openapi_url, FromPeer(app))
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"OpenAPI document rejected: {result.err()}")
            continue
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz_operation(operation, mode, headers())
            except Unsatisfiable:
                # Nothing to get wrong in an operation without parameters or body.
                if mode is GenerationMode.POSITIVE:
                    raise
            except (FailureGroup, Exception) as exc:
                failures.append(f"{operation.label} [{mode.value}]: {type(exc).__name__}: {exc}")
    return failures


def _fuzz_operation(operation: Any, mode: GenerationMode, sent: dict[str, str]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: the first failing request, with its curl line, is enough to act on.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=sent, checks=CHECKS)

    run()
