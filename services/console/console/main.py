"""ASGI entry point for running the console on its own: `uvicorn console.main:app`."""

from console.app import create_app
from shared.logging import configure_logging
from shared.runtime import Runtime
from shared.settings import load_settings

settings = load_settings(service_name="console")
configure_logging("console", settings.log_level)
app = create_app(Runtime(settings))
