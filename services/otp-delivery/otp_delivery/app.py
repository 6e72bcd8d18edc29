"""The otp-delivery service: providers, delivery settings, Test SMS, the Celery worker."""

from __future__ import annotations

from fastapi import FastAPI

from shared.runtime import Runtime
from shared.service_app import create_service_app

DESCRIPTION = (
    "Configure SMS and email delivery used by OTP login. Generic API, Fast2SMS, "
    "and US carrier email-to-SMS match the VMTS setup."
)


def create_app(runtime: Runtime) -> FastAPI:
    return create_service_app(
        name="otp-delivery",
        title="Identity Services — otp-delivery",
        description=DESCRIPTION,
        ops_prefix="/otp",
        routers=[],
        runtime=runtime,
    )
