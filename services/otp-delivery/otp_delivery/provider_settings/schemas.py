"""Request and response bodies of `/otp/settings` and the test sends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from otp_delivery.messages import (
    DEFAULT_EMAIL_SUBJECT,
    DEFAULT_EMAIL_TEMPLATE,
    DEFAULT_SMS_TEMPLATE,
)
from otp_delivery.providers.carrier_email import CarrierEmailConfig
from otp_delivery.providers.fast2sms import Fast2SmsConfig
from otp_delivery.providers.fields import MessageTemplate, SubjectTemplate
from otp_delivery.providers.generic_api import GenericApiConfig
from otp_delivery.providers.smtp_email import SmtpConfig


class _SmsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    is_enabled: bool = True
    template: MessageTemplate = DEFAULT_SMS_TEMPLATE


class GenericApiSms(_SmsSettings):
    provider: Literal["generic_api"]
    config: GenericApiConfig


class Fast2SmsSms(_SmsSettings):
    provider: Literal["fast2sms"]
    config: Fast2SmsConfig


class CarrierEmailSms(_SmsSettings):
    provider: Literal["carrier_email"]
    config: CarrierEmailConfig


SmsSettingsIn = Annotated[
    GenericApiSms | Fast2SmsSms | CarrierEmailSms, Field(discriminator="provider")
]


class EmailSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    is_enabled: bool = True
    provider: Literal["smtp"] = "smtp"
    config: SmtpConfig
    subject: SubjectTemplate = DEFAULT_EMAIL_SUBJECT
    template: MessageTemplate = DEFAULT_EMAIL_TEMPLATE


class OtpSettingsUpdate(BaseModel):
    """Replace a channel's settings. A secret left out (or null) keeps the stored one
    while the provider stays the same; an empty string clears it."""

    model_config = ConfigDict(extra="forbid")
    sms: SmsSettingsIn | None = None
    email: EmailSettingsIn | None = None

    @model_validator(mode="after")
    def _something(self) -> OtpSettingsUpdate:
        if self.sms is None and self.email is None:
            raise ValueError("give sms, email or both")
        return self


class ChannelSettingsOut(BaseModel):
    is_enabled: bool
    provider: str
    # Secret fields appear as {"set": true|false}, never with their value.
    config: dict[str, Any]
    template: str
    subject: str | None = None
    updated_at: datetime
    updated_by: str | None


class TemplateDefaults(BaseModel):
    sms_template: str = DEFAULT_SMS_TEMPLATE
    email_subject: str = DEFAULT_EMAIL_SUBJECT
    email_template: str = DEFAULT_EMAIL_TEMPLATE
    placeholders: list[str] = ["{code}", "{brand}", "{action}", "{minutes}"]


class OtpSettingsOut(BaseModel):
    sms: ChannelSettingsOut | None
    email: ChannelSettingsOut | None
    defaults: TemplateDefaults = Field(default_factory=TemplateDefaults)


class SmsTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mobile_number: str = Field(min_length=3, max_length=32)
    mobile_carrier: str | None = Field(default=None, max_length=64)


class EmailTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)


class SendCheckOut(BaseModel):
    ok: bool
    provider: str
    destination: str  # masked
    provider_status: str | None
    error: str | None
    delivery_id: str


class CarrierOut(BaseModel):
    key: str
    name: str
    gateway: str
