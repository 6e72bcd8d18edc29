"""ASGI entry point for running the audit service on its own: `uvicorn audit.main:app`."""

from audit.app import create_app
from shared.logging import configure_logging
from shared.runtime import Runtime
from shared.settings import load_settings

settings = load_settings(service_name="audit")
configure_logging("audit", settings.log_level)
app = create_app(Runtime(settings))
