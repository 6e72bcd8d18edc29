"""A sign-in in progress at the hosted page: the authorization request, bound to one browser.

The validated authorization request waits in Redis (`FLOW_SECONDS`) while the
user signs in over one or more form posts. Each flow is bound to the browser
that started it: a random secret in an HttpOnly cookie, whose hash the flow
holds, and a CSRF token in every form derived from both. A form posted from
another browser, another site, or after the flow ended does nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field, replace

import orjson

from shared.runtime import Runtime

FLOW_SECONDS = 600
ACCOUNT_CLIENT = "account"  # a flow of the account page (/account), not of a client
BROWSER_COOKIE = "idp_browser"
SECURE_BROWSER_COOKIE = "__Host-idp_browser"


@dataclass(frozen=True)
class Flow:
    id: str
    client_id: str
    params: list[tuple[str, str]]  # the authorization request, as validated
    browser_hash: str
    # sign-in | code (an OTP was sent) | second (first factor done: choose the second) |
    # mfa (first factor done, a code sent) | enrol (first factor done, nothing to ask for:
    # set one up) | codes (enrolled: the new recovery codes shown, then continue)
    stage: str = "sign-in"
    otp_request_id: str | None = None
    login: str | None = None
    destination: str | None = None  # masked, for "we sent a code to ..."
    user_id: str | None = None  # after the first factor, while the second is asked
    first: str | None = None  # that first factor: pwd | otp
    methods: list[str] = field(default_factory=list)  # what may complete the second step
    notes: dict[str, str] = field(default_factory=dict)


def browser_cookie(secure: bool) -> str:
    return SECURE_BROWSER_COOKIE if secure else BROWSER_COOKIE


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class FlowStore:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _key(self, flow_id: str) -> str:
        return self._runtime.keys("auth", "oidc", "flow", _digest(flow_id))

    def start(self, client_id: str, params: list[tuple[str, str]], browser_secret: str) -> Flow:
        flow = Flow(secrets.token_urlsafe(18), client_id, params, _digest(browser_secret))
        self.save(flow)
        return flow

    def save(self, flow: Flow) -> None:
        self._runtime.redis.set(self._key(flow.id), orjson.dumps(asdict(flow)), ex=FLOW_SECONDS)

    def advance(self, flow: Flow, **changes: object) -> Flow:
        moved = replace(flow, **changes)  # type: ignore[arg-type]
        self.save(moved)
        return moved

    def end(self, flow: Flow) -> None:
        self._runtime.redis.delete(self._key(flow.id))

    def load(self, flow_id: str, browser_secret: str | None, csrf: str) -> Flow | None:
        """The flow, if it exists, belongs to this browser and the form's token is its own."""
        if not flow_id or not browser_secret or len(flow_id) > 64:
            return None
        raw = self._runtime.redis.get(self._key(flow_id))
        if raw is None:
            return None
        data = orjson.loads(raw)
        flow = Flow(**{**data, "params": [tuple(p) for p in data["params"]]})
        if not hmac.compare_digest(flow.browser_hash, _digest(browser_secret)):
            return None
        if not hmac.compare_digest(csrf.encode(), self.csrf_token(flow, browser_secret).encode()):
            return None
        return flow

    def csrf_token(self, flow: Flow, browser_secret: str) -> str:
        return self._runtime.box.keyed_hash(f"hosted-csrf:{flow.id}:{browser_secret}")
