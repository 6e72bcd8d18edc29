"""ASGI entry point for running the auth service on its own: `uvicorn auth.main:app`."""

from auth.app import create_app
from shared.logging import configure_logging
from shared.runtime import Runtime
from shared.settings import load_settings

settings = load_settings(service_name="auth")
configure_logging("auth", settings.log_level)
app = create_app(Runtime(settings))
