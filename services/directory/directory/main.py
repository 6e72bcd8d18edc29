"""ASGI entry point for running the directory service on its own: `uvicorn directory.main:app`."""

from directory.app import create_app
from shared.logging import configure_logging
from shared.runtime import Runtime
from shared.settings import load_settings

settings = load_settings(service_name="directory")
configure_logging("directory", settings.log_level)
app = create_app(Runtime(settings))
