"""SMS and email providers, and building the configured one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from otp_delivery.providers.base import OutboundPolicy, Provider
from otp_delivery.providers.carrier_email import CarrierEmailConfig, CarrierEmailProvider
from otp_delivery.providers.fast2sms import Fast2SmsConfig, Fast2SmsProvider
from otp_delivery.providers.fields import STORED
from otp_delivery.providers.generic_api import GenericApiConfig, GenericApiProvider
from otp_delivery.providers.smtp_email import SmtpConfig, SmtpEmailProvider

# provider name -> (its settings model, its class); per channel.
SMS_PROVIDERS: dict[str, tuple[type[BaseModel], Any]] = {
    "generic_api": (GenericApiConfig, GenericApiProvider),
    "fast2sms": (Fast2SmsConfig, Fast2SmsProvider),
    "carrier_email": (CarrierEmailConfig, CarrierEmailProvider),
}
EMAIL_PROVIDERS: dict[str, tuple[type[BaseModel], Any]] = {
    "smtp": (SmtpConfig, SmtpEmailProvider),
}
PROVIDERS = {"sms": SMS_PROVIDERS, "email": EMAIL_PROVIDERS}


def build_provider(
    channel: str, provider: str, config: dict[str, Any], policy: OutboundPolicy
) -> Provider:
    """The provider for stored settings (config with its secrets merged back in)."""
    model, cls = PROVIDERS[channel][provider]
    provider_obj: Provider = cls(model.model_validate(config, context={STORED: True}), policy)
    return provider_obj


def secret_fields(channel: str, provider: str) -> tuple[str, ...]:
    model = PROVIDERS[channel][provider][0]
    return tuple(getattr(model, "SECRET_FIELDS", ()))
