"""ASGI entry point of the otp-delivery service: `uvicorn otp_delivery.main:app`."""

from otp_delivery.app import create_app
from shared.logging import configure_logging
from shared.runtime import Runtime
from shared.settings import load_settings

settings = load_settings(service_name="otp-delivery")
configure_logging("otp-delivery", settings.log_level)
app = create_app(Runtime(settings))
