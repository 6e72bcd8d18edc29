"""The endpoint list for consuming applications, matched to the live OpenAPI.

The list (which endpoints, in which order, with the seed's words, and the
second step of a sign-in that came after the seed) is the product's;
everything else on the page (parameters, request and response examples, the
other answers an endpoint may give, error codes) comes from the services'
OpenAPI at the time the page is shown, so the docs cannot drift from what is
served. An endpoint the services no longer serve is shown as such.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from console.api import ApiError, ConsoleApi
from console.apidocs.examples import example_for, resolve

ENDPOINTS = (
    (
        "POST",
        "/auth/register",
        "Check whether a user exists in the directory and is assigned to the calling "
        "application before app onboarding or sign-in.",
    ),
    (
        "POST",
        "/auth/otp/request",
        "Request a login OTP by mobile number or email address. Delivery uses the configured "
        "OTP Providers setup; local dev codes are shown only when enabled.",
    ),
    ("POST", "/auth/otp/verify", "Verify an OTP and receive access and refresh tokens."),
    (
        "POST",
        "/auth/login",
        "Login with email/mobile number and password. Returns user, session, access token, "
        "and refresh token.",
    ),
    # Not in the seed: the second step of a sign-in (issue 20).
    (
        "POST",
        "/auth/mfa/verify",
        "Complete a sign-in that answered mfa_required with the code of the user's "
        "authenticator app (method totp) or one of their recovery codes (method "
        "recovery_code). Returns the same tokens as a sign-in.",
    ),
    (
        "POST",
        "/auth/mfa/otp",
        "Send a code by SMS or email for a pending second step whose methods include otp; "
        "complete it with POST /auth/otp/verify.",
    ),
    ("GET", "/auth/session", "Validate an access token and load the authenticated user."),
    ("POST", "/auth/token/refresh", "Exchange a refresh token for a new access token."),
    ("POST", "/auth/logout", "Revoke a session using either an access token or refresh token."),
    (
        "GET",
        "/users/sync",
        "One-way user sync for the calling application. The API Auth Key identifies the "
        "application, and only users assigned to that application are returned. Client apps "
        "should store auth_user_id and update only when sync_hash changes. The mapped fields "
        "include optional emp_id.",
    ),
    (
        "POST",
        "/auth/password/request-reset",
        "Start password reset or account recovery for a mobile number or email address.",
    ),
    ("POST", "/auth/password/reset", "Complete password reset with the recovery token."),
)
# The same calls through the Python client (clients/python), shown beside curl.
# tests/clients/test_docs.py checks that each names a method the client has.
CLIENT_CALLS = {
    ("POST", "/auth/register"): 'user = identity.register("ada@example.com")',
    ("POST", "/auth/otp/request"): 'challenge = identity.request_otp("+14155550123")',
    ("POST", "/auth/otp/verify"): (
        "tokens = identity.verify_otp(code, otp_request_id=challenge.otp_request_id)\n"
        "# an MfaChallenge instead for a user with an authenticator app: see /auth/login"
    ),
    ("POST", "/auth/login"): (
        'answer = identity.login("ada@example.com", password)\n'
        "if isinstance(answer, MfaChallenge):  # a second factor is needed: no tokens yet\n"
        '    tokens = identity.verify_mfa(answer, "totp", code_from_the_app)\n'
        "else:\n"
        "    tokens = answer"
    ),
    ("POST", "/auth/mfa/verify"): (
        'tokens = identity.verify_mfa(challenge, "totp", code_from_the_app)\n'
        '# or: identity.verify_mfa(challenge.mfa_challenge_id, "recovery_code", code)'
    ),
    ("POST", "/auth/mfa/otp"): (
        'sent = identity.send_mfa_code(challenge)  # "otp" in challenge.methods\n'
        "tokens = identity.verify_otp(code, otp_request_id=sent.otp_request_id)"
    ),
    ("GET", "/auth/session"): (
        "info = identity.session(tokens.access_token)\n"
        "# or offline, against the JWKS:\nuser = identity.verify(tokens.access_token)"
    ),
    ("POST", "/auth/token/refresh"): "tokens = identity.refresh(tokens.refresh_token)",
    ("POST", "/auth/logout"): "identity.logout(refresh_token=tokens.refresh_token)",
    ("GET", "/users/sync"): (
        "from identity_client import SyncWalker\n"
        "SyncWalker(identity, target=my_users, store=my_cursor).run()"
    ),
    ("POST", "/auth/password/request-reset"): (
        'started = identity.request_password_reset("ada@example.com")'
    ),
    ("POST", "/auth/password/reset"): "done = identity.reset_password(token, new_password)",
}
CLIENT_SETUP = (
    "from identity_client import IdentityClient, MfaChallenge\n"
    'identity = IdentityClient("{base}", api_key="ask_your_api_key",\n'
    '                          application_id="<the application\'s id>")'
)

# Where each service publishes its OpenAPI document.
SPECS = (
    "/auth/openapi.json",
    "/directory/openapi.json",
    "/otp/openapi.json",
    "/audit/openapi.json",
    "/console/openapi.json",
)
CACHE_SECONDS = 60.0


@dataclass
class Parameter:
    name: str
    where: str
    required: bool
    description: str


@dataclass
class OtherAnswer:
    """A success answer an endpoint gives instead of its usual one (`anyOf` in the
    OpenAPI): `/auth/login`'s `mfa_required` challenge instead of tokens."""

    title: str
    summary: str
    example: str


@dataclass
class EndpointDoc:
    method: str
    path: str
    description: str
    served: bool
    summary: str = ""
    details: str = ""
    headers: list[str] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    request_example: str | None = None
    success_status: str = ""
    response_example: str | None = None
    other_answers: list[OtherAnswer] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    client_call: str = ""

    def curl(self, base: str) -> str:
        """The request as a curl command line."""
        parts = [f"curl -X {self.method} {base}{self.path}"]
        parts.append('-H "X-Auth-Service-Key: ask_your_api_key"')
        if self.path == "/auth/session":
            parts.append('-H "Authorization: Bearer access_token_here"')
        if self.request_example and self.request_example != "multipart/form-data":
            body = json.dumps(json.loads(self.request_example), separators=(",", ":"))
            parts.append('-H "Content-Type: application/json"')
            parts.append(f"-d '{body}'")
        return " \\\n  ".join(parts)


async def load_specs(api: ConsoleApi, cache: dict[str, Any]) -> list[dict[str, Any]]:
    """Every service's OpenAPI document (cached a minute; a missing one is skipped)."""
    if cache.get("specs") is not None and time.monotonic() - cache["at"] < CACHE_SECONDS:
        return list(cache["specs"])
    specs = []
    for path in SPECS:
        try:
            specs.append(await api.get(path, auth=False))
        except ApiError:
            continue
    cache.update(specs=specs, at=time.monotonic())
    return specs


def find_operation(
    specs: list[dict[str, Any]], method: str, path: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for spec in specs:
        operation = spec.get("paths", {}).get(path, {}).get(method.lower())
        if operation is not None:
            return spec, operation
    return None


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def document(
    spec: dict[str, Any], method: str, path: str, operation: dict[str, Any]
) -> EndpointDoc:
    doc = EndpointDoc(method=method, path=path, description="", served=True)
    doc.summary = operation.get("summary", "")
    description = operation.get("description", "")
    doc.details = description.partition("\n\n")[2].strip() if description else ""
    for raw in operation.get("parameters", []):
        param = resolve(spec, raw)
        if param.get("in") == "header":
            doc.headers.append(param["name"])
        doc.parameters.append(
            Parameter(
                param["name"],
                param.get("in", ""),
                bool(param.get("required")),
                param.get("description", ""),
            )
        )
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        doc.request_example = _pretty(example_for(spec, body["application/json"].get("schema")))
    elif "multipart/form-data" in body:
        doc.request_example = "multipart/form-data"
    for status, response in sorted(operation.get("responses", {}).items()):
        content = response.get("content", {})
        if status.startswith("2") and not doc.success_status:
            doc.success_status = status
            schema = content.get("application/json", {}).get("schema")
            if schema:
                usual, *others = answers_of(spec, schema)
                doc.response_example = _pretty(example_for(spec, usual))
                doc.other_answers = [other_answer(spec, other) for other in others]
        elif status[0] in "45":
            doc.errors.append((status, response.get("description", "")))
    for security in operation.get("security", []):
        for name in security:
            scheme = spec.get("components", {}).get("securitySchemes", {}).get(name, {})
            if scheme.get("type") == "apiKey" and scheme.get("name"):
                doc.headers.append(scheme["name"])
            elif scheme.get("scheme") == "bearer":
                doc.headers.append("Authorization: Bearer")
    return doc


def answers_of(spec: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers a response schema allows: its `anyOf`/`oneOf` choices, else itself."""
    resolved = resolve(spec, schema)
    for key in ("anyOf", "oneOf"):
        choices = [c for c in resolved.get(key, []) if resolve(spec, c).get("type") != "null"]
        if len(choices) > 1:
            return choices
    return [schema]


def other_answer(spec: dict[str, Any], schema: dict[str, Any]) -> OtherAnswer:
    resolved = resolve(spec, schema)
    # Optional fields that may be null come only in some cases (the summary says which):
    # left out, the example shows the answer every such call gets.
    required = set(resolved.get("required", []))
    absent = {
        name
        for name, prop in resolved.get("properties", {}).items()
        if name not in required and any(c.get("type") == "null" for c in prop.get("anyOf", []))
    }
    example = example_for(spec, schema)
    if isinstance(example, dict):
        example = {k: v for k, v in example.items() if k not in absent}
    summary = str(resolved.get("description", "")).partition("\n\n")[0].strip()
    return OtherAnswer(str(resolved.get("title", "")), summary, _pretty(example))


def app_endpoints(specs: list[dict[str, Any]]) -> list[EndpointDoc]:
    docs = []
    for method, path, description in ENDPOINTS:
        found = find_operation(specs, method, path)
        if found is None:
            docs.append(EndpointDoc(method, path, description, served=False))
            continue
        doc = document(found[0], method, path, found[1])
        doc.description = description
        doc.client_call = CLIENT_CALLS.get((method, path), "")
        if doc.details and doc.details in description:
            doc.details = ""
        docs.append(doc)
    return docs


def admin_endpoints(specs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Every other endpoint (administrators' and operations'), as method, path, summary."""
    listed = {(m, p) for m, p, _ in ENDPOINTS}
    rows = []
    for spec in specs:
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                if (method.upper(), path) not in listed:
                    rows.append((method.upper(), path, operation.get("summary", "")))
    return rows
