"""Generic HTTP SMS API: any provider reachable with one templated HTTP request."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import ClassVar, Literal
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, ConfigDict, Field, model_validator

from otp_delivery.providers.base import (
    OutboundPolicy,
    OutgoingMessage,
    PermanentDeliveryError,
    SendResult,
)
from otp_delivery.providers.fields import CredentialFreeUrl, HeaderName, HeaderValue, Secret
from otp_delivery.providers.http import call_provider, json_field

PLACEHOLDERS = ("mobile", "message", "code")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}
# Plain headers are shown back to administrators; credentials go in the write-only one.
CREDENTIAL_HEADER = re.compile(r"auth|key|token|secret|pass|cookie|credential|signature", re.I)
DEFAULT_BODY = '{"to": "{mobile}", "message": "{message}"}'
ContentType = Literal["application/json", "application/x-www-form-urlencoded", "text/plain"]

ESCAPES: dict[str, Callable[[str], str]] = {
    "application/json": lambda v: json.dumps(v)[1:-1],
    "application/x-www-form-urlencoded": quote_plus,
    "text/plain": lambda v: v,
}


def fill(template: str, values: dict[str, str], escape: Callable[[str], str]) -> str:
    return PLACEHOLDER.sub(
        lambda m: escape(values[m.group(1)]) if m.group(1) in values else m.group(0), template
    )


class GenericApiConfig(BaseModel):
    """`{mobile}` (E.164), `{message}` (the whole text) and `{code}` fill the URL and body."""

    model_config = ConfigDict(extra="forbid")
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("auth_header_value",)

    url: CredentialFreeUrl
    method: Literal["POST", "PUT", "GET"] = "POST"
    content_type: ContentType = "application/json"
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict, max_length=20)
    auth_header_name: HeaderName = "Authorization"
    auth_header_value: Secret | None = None
    body_template: str = Field(default=DEFAULT_BODY, max_length=4000)
    success_json_field: str | None = Field(
        default=None, max_length=100, pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
    )
    success_json_value: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _placeholders_make_sense(self) -> GenericApiConfig:
        used = set(PLACEHOLDER.findall(self.url + self.body_template))
        unknown = sorted(used - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{unknown[0]}}}; use {{mobile}}, {{message}}, {{code}}"
            )
        if "mobile" not in used:
            raise ValueError("the URL or body must contain {mobile}")
        if not used & {"message", "code"}:
            raise ValueError("the URL or body must contain {message} or {code}")
        if self.method == "GET" and self.body_template.strip():
            raise ValueError("a GET request has no body: put the placeholders in the URL")
        if self.content_type == "application/json" and self.method != "GET":
            sample = fill(
                self.body_template, dict.fromkeys(PLACEHOLDERS, "x"), ESCAPES[self.content_type]
            )
            try:
                json.loads(sample)
            except ValueError as exc:
                raise ValueError(f"body_template is not valid JSON: {exc}") from exc
        if any(name.lower() in RESERVED_HEADERS for name in self.headers):
            raise ValueError("headers must not set Host, Content-Length or Connection")
        if any(CREDENTIAL_HEADER.search(name) for name in self.headers):
            raise ValueError(
                "put credentials in auth_header_name/auth_header_value (stored encrypted, "
                "never shown again), not in headers"
            )
        if self.success_json_value is not None and not self.success_json_field:
            raise ValueError("success_json_value needs success_json_field")
        return self


class GenericApiProvider:
    name = "generic_api"

    def __init__(self, config: GenericApiConfig, policy: OutboundPolicy) -> None:
        self.config = config
        self.policy = policy

    def send(self, message: OutgoingMessage) -> SendResult:
        cfg = self.config
        values = {"mobile": message.destination, "message": message.text, "code": message.secret}
        url = fill(cfg.url, values, lambda v: quote(v, safe=""))
        headers = dict(cfg.headers)
        if cfg.auth_header_value:
            headers[cfg.auth_header_name] = cfg.auth_header_value
        content = None
        if cfg.method != "GET":
            headers.setdefault("Content-Type", cfg.content_type)
            content = fill(cfg.body_template, values, ESCAPES[cfg.content_type]).encode()
        response = call_provider(self.policy, cfg.method, url, headers=headers, content=content)
        status = str(response.status_code)
        if cfg.success_json_field:
            actual = json_field(response, cfg.success_json_field)
            shown = json.dumps(actual) if isinstance(actual, bool) else str(actual)
            ok = (
                actual is not None
                if cfg.success_json_value is None
                else shown == cfg.success_json_value
            )
            if not ok:
                raise PermanentDeliveryError(
                    f"the provider's answer did not confirm success ({cfg.success_json_field})",
                    status,
                )
        return SendResult(provider_status=status)
