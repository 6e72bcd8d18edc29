"""Structured JSON logs on stdout, with secret-looking values masked."""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

SECRET_FIELD = re.compile(
    r"pass(word)?|secret|token|api_?key|authorization|cookie|otp|credential|hash"
    # "code" alone is a secret (an OTP), but status_code / country_code are not.
    r"|^(dev_|otp_|reset_|recovery_)?code$",
    re.IGNORECASE,
)
# Values that look like our API keys or bearer JWTs, wherever they appear.
SECRET_VALUE = re.compile(r"ask_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{20,}|eyJ[\w-]+\.[\w-]+\.[\w-]+")
MASK = "***"


def mask_secrets(value: Any, key: str = "") -> Any:
    """Mask fields whose name looks secret and key/token-shaped strings anywhere."""
    if key and _secret_field(key):
        return MASK if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v) for v in value]
    if isinstance(value, str):
        # Every match starts with one of these two: most strings skip the regex.
        return SECRET_VALUE.sub(MASK, value) if "ask_" in value or "eyJ" in value else value
    return value


@functools.lru_cache(maxsize=4096)
def _secret_field(key: str) -> bool:
    # Field names come from the code, a few dozen of them: each is judged once.
    return bool(SECRET_FIELD.search(key)) and not key.endswith(("_id", "_at", "_count"))


def _mask_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    # The message and the rendered traceback too: either may quote a key or token.
    return {k: mask_secrets(v, k) for k, v in event_dict.items()}


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _mask_processor,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
