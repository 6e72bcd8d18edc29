"""Fast2SMS (India): `POST {base_url}/dev/bulkV2` with the API key in the `authorization` header."""

from __future__ import annotations

import json
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from otp_delivery.providers.base import (
    OutboundPolicy,
    OutgoingMessage,
    PermanentDeliveryError,
    SendResult,
)
from otp_delivery.providers.fields import HttpUrl, Secret
from otp_delivery.providers.http import call_provider, json_field


class Fast2SmsConfig(BaseModel):
    """Routes: `q` (quick SMS with our text), `otp` (Fast2SMS's OTP text), `dlt` (DLT template)."""

    model_config = ConfigDict(extra="forbid")
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("api_key",)

    base_url: HttpUrl = "https://www.fast2sms.com"
    route: Literal["q", "otp", "dlt"] = "q"
    sender_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{3,16}$")
    dlt_message_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,64}$")
    api_key: Secret | None = None

    @model_validator(mode="after")
    def _dlt_needs_template(self) -> Fast2SmsConfig:
        if self.route == "dlt" and not (self.sender_id and self.dlt_message_id):
            raise ValueError("the dlt route needs sender_id and dlt_message_id")
        return self


class Fast2SmsProvider:
    name = "fast2sms"

    def __init__(self, config: Fast2SmsConfig, policy: OutboundPolicy) -> None:
        self.config = config
        self.policy = policy

    def body(self, message: OutgoingMessage) -> dict[str, object]:
        if not message.destination.startswith("+91") or len(message.destination) != 13:
            raise PermanentDeliveryError("Fast2SMS delivers to Indian (+91) mobile numbers only")
        numbers = message.destination[3:]
        cfg = self.config
        if cfg.route == "otp":
            return {"route": "otp", "variables_values": message.secret, "numbers": numbers}
        if cfg.route == "dlt":
            return {
                "route": "dlt",
                "sender_id": cfg.sender_id,
                "message": cfg.dlt_message_id,
                "variables_values": message.secret,
                "flash": 0,
                "numbers": numbers,
            }
        return {
            "route": "q",
            "message": message.text,
            "language": "english",
            "flash": 0,
            "numbers": numbers,
        }

    def send(self, message: OutgoingMessage) -> SendResult:
        if not self.config.api_key:
            raise PermanentDeliveryError("the Fast2SMS API key is not set")
        body = self.body(message)
        response = call_provider(
            self.policy,
            "POST",
            self.config.base_url.rstrip("/") + "/dev/bulkV2",
            headers={
                "authorization": self.config.api_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Cache-Control": "no-cache",
            },
            content=json.dumps(body).encode(),
        )
        if json_field(response, "return") is not True:
            code = json_field(response, "status_code")
            raise PermanentDeliveryError(
                "Fast2SMS did not accept the message", str(code or response.status_code)
            )
        return SendResult(provider_status=str(response.status_code))
