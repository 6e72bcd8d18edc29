"""The otp-delivery service: providers, delivery settings, Test SMS, the delivery log.

The sending itself happens in the Celery worker (`otp_delivery.worker`); in
the embedded dev mode there is no worker and deliveries run in-process.
"""

from __future__ import annotations

from fastapi import FastAPI

from otp_delivery.deliveries.router import router as deliveries_router
from otp_delivery.inline import InlineOtpSender
from otp_delivery.provider_settings.router import router as settings_router
from shared.runtime import Runtime
from shared.service_app import create_service_app

DESCRIPTION = (
    "Configure SMS and email delivery used by OTP login. Generic API, Fast2SMS, "
    "and US carrier email-to-SMS match the VMTS setup."
)


def create_app(runtime: Runtime) -> FastAPI:
    settings = runtime.settings
    if settings.is_dev or settings.redis_url.startswith("memory://"):
        # No broker to hand tasks to: every service in this process delivers inline.
        runtime.otp_sender = InlineOtpSender(runtime)
    return create_service_app(
        name="otp-delivery",
        title="Identity Services — otp-delivery",
        description=DESCRIPTION,
        ops_prefix="/otp",
        routers=[settings_router, deliveries_router],
        runtime=runtime,
    )
