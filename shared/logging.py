"""Structured JSON logs on stdout, with secret-looking values masked.

structlog's own loggers and the standard library's (uvicorn, httpx, Celery,
SQLAlchemy) go through the same processors, so neither prints a secret.
"""

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
# Values that look like our API keys, bearer JWTs or refresh tokens, wherever they appear.
SECRET_VALUE = re.compile(
    r"ask_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{20,}"
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]+"
    # `rt_` + token_urlsafe(32); not when `rt_` ends a word (`restart_...`).
    r"|(?<![A-Za-z0-9])rt_[A-Za-z0-9_-]{43}"
)
MASK = "***"
# Quieter than INFO: httpx logs every request's URL, query string (a searched
# email address or mobile number) included; uvicorn's access log likewise.
QUIET_LOGGERS = ("uvicorn.access", "httpx", "httpcore")


def mask_secrets(value: Any, key: str = "") -> Any:
    """Mask fields whose name looks secret and key/token-shaped strings anywhere."""
    if key and _secret_field(key):
        return MASK if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v) for v in value]
    if isinstance(value, str):
        # Every match starts with one of these: most strings skip the regex.
        if "ask_" in value or "eyJ" in value or "rt_" in value:
            return SECRET_VALUE.sub(MASK, value)
        return value
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


class _StdlibHandler(logging.StreamHandler):
    """The one handler configure_logging puts on the root logger (found again by its type)."""


def _route_stdlib_logging(level: str) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _mask_processor,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
    )
    handler = _StdlibHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _StdlibHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The uvicorn CLI gives its loggers handlers of their own (unmasked, plain
    # text) before it imports the app: send them through the root's instead.
    for name in ("uvicorn", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(service: str, level: str = "INFO") -> None:
    _route_stdlib_logging(level)
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
