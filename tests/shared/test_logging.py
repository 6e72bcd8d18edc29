"""Logs are JSON on stdout and never carry a secret."""

from __future__ import annotations

import logging
import logging.config
from collections.abc import Iterator

import httpx
import orjson
import pytest
import structlog
import uvicorn.config

from shared.logging import MASK, configure_logging, mask_secrets

API_KEY = "ask_abcd1234_" + "S" * 43
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
REFRESH_TOKEN = "rt_" + "Zk3-q_9TmB0xv7LwPa2Ne5RcYh8Ug1Jd4Fs6Ho-Ki_A"  # 43 url-safe characters


@pytest.mark.parametrize(
    "field",
    [
        "password",
        "new_password",
        "client_secret",
        "refresh_token",
        "api_key",
        "apiKey",
        "Authorization",
        "cookie",
        "otp",
        "password_hash",
    ],
)
def test_secret_fields_are_masked(field: str) -> None:
    assert mask_secrets({field: "hunter2-value", "name": "Ada"}) == {field: MASK, "name": "Ada"}


def test_empty_secret_fields_stay_visibly_empty() -> None:
    assert mask_secrets({"password": None, "token": ""}) == {"password": None, "token": ""}


def test_nested_dicts_and_lists_are_masked() -> None:
    details = {
        "before": {"password": "old-secret", "name": "Ada"},
        "after": {"password": "new-secret", "name": "Ada L."},
        "keys": [{"api_key": "k1", "label": "ci"}, {"api_key": "k2", "label": "prod"}],
        "tuple": ("fine", {"secret": "x"}),
    }
    assert mask_secrets(details) == {
        "before": {"password": MASK, "name": "Ada"},
        "after": {"password": MASK, "name": "Ada L."},
        "keys": [{"api_key": MASK, "label": "ci"}, {"api_key": MASK, "label": "prod"}],
        "tuple": ["fine", {"secret": MASK}],
    }


def test_key_and_jwt_shaped_values_are_masked_inside_free_text() -> None:
    masked = mask_secrets({"note": f"sent {API_KEY} and Bearer {JWT} to the app"})
    assert masked == {"note": f"sent {MASK} and Bearer {MASK} to the app"}
    assert mask_secrets([API_KEY]) == [MASK]


def test_refresh_tokens_are_masked_inside_free_text() -> None:
    masked = mask_secrets({"note": f"client retried {REFRESH_TOKEN}, twice"})
    assert masked == {"note": f"client retried {MASK}, twice"}
    assert mask_secrets([REFRESH_TOKEN]) == [MASK]
    # Words that merely contain "rt_" are left alone.
    assert mask_secrets("restart_policy=always report_id=7") == "restart_policy=always report_id=7"


def test_ids_timestamps_and_counts_are_kept() -> None:
    fields = {
        "api_key_id": "8f2c",
        "token_id": "j1",
        "password_changed_at": "2026-01-01",
        "otp_count": 3,
        "key_prefix": "abcd1234",
    }
    assert mask_secrets(fields) == fields


def test_non_string_values_pass_through() -> None:
    assert mask_secrets({"attempts": 3, "ok": True, "ratio": 0.5}) == {
        "attempts": 3,
        "ok": True,
        "ratio": 0.5,
    }


@pytest.fixture
def json_logs() -> Iterator[None]:
    """configure_logging is process-wide; put structlog back as it was afterwards."""
    previous = structlog.get_config()
    configure_logging("test-service", "DEBUG")
    yield
    structlog.configure(**previous)
    structlog.contextvars.clear_contextvars()


def _lines(out: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.usefixtures("json_logs")
def test_configured_logs_are_json_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    log = structlog.get_logger("test")
    log.info("key_created", api_key=API_KEY, key_id="k-1", details={"password": "hunter2!!"})
    log.warning("note", text=f"header was Bearer {JWT}")
    out = capsys.readouterr().out
    first, second = _lines(out)
    assert first["event"] == "key_created"
    assert first["service"] == "test-service"
    assert first["level"] == "info"
    assert first["key_id"] == "k-1"
    assert first["api_key"] == MASK
    assert first["details"] == {"password": MASK}
    assert "timestamp" in first
    assert second["text"] == f"header was Bearer {MASK}"
    for secret in (API_KEY, JWT, "hunter2!!"):
        assert secret not in out


@pytest.mark.usefixtures("json_logs")
def test_secrets_in_messages_and_tracebacks_are_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = structlog.get_logger("test")
    log.info(f"rejected {API_KEY}")
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        log.exception("unhandled_error")
    out = capsys.readouterr().out
    message, failure = _lines(out)
    assert message["event"] == f"rejected {MASK}"
    assert "ValueError: bad token ***" in str(failure["exception"])
    assert API_KEY not in out
    assert JWT not in out


@pytest.mark.usefixtures("json_logs")
def test_level_filters_lower_levels(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test-service", "WARNING")
    log = structlog.get_logger("test")
    log.info("hidden")
    log.warning("shown")
    assert [line["event"] for line in _lines(capsys.readouterr().out)] == ["shown"]


_STDLIB_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore")


@pytest.fixture
def stdlib_logging() -> Iterator[None]:
    """Put back the standard-library loggers a test configured."""
    saved = {
        name: (logger.handlers[:], logger.level, logger.propagate)
        for name in _STDLIB_LOGGERS
        for logger in [logging.getLogger(name)]
    }
    previous = structlog.get_config()
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.configure(**previous)
    structlog.contextvars.clear_contextvars()


def _configure_as_a_service_process() -> None:
    """Standard-library logging as a service process has it: uvicorn's own configuration
    (the CLI applies it before importing the app), then configure_logging. Called in the
    test itself, so that handlers write to the stdout capsys reads."""
    logging.getLogger().handlers.clear()  # pytest's own; a service process has none
    for name in ("httpx", "httpcore"):  # as left by modules other tests imported
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    configure_logging("test-service", "DEBUG")


@pytest.mark.usefixtures("stdlib_logging")
def test_stdlib_log_records_are_json_lines_with_secrets_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configure_as_a_service_process()
    logging.getLogger("sqlalchemy.engine").warning("parameters (%r,)", API_KEY)
    logging.getLogger("uvicorn.error").error("Exception in ASGI application: %s", REFRESH_TOKEN)
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        logging.getLogger("celery.worker").exception("task failed")
    captured = capsys.readouterr()
    engine, server, task = _lines(captured.out)
    assert engine["event"] == f"parameters ('{MASK}',)"
    assert (engine["level"], engine["logger"], engine["service"]) == (
        "warning",
        "sqlalchemy.engine",
        "test-service",
    )
    assert server["event"] == f"Exception in ASGI application: {MASK}"
    assert "ValueError: bad token ***" in str(task["exception"])
    for secret in (API_KEY, REFRESH_TOKEN, JWT):
        assert secret not in captured.out + captured.err


@pytest.mark.usefixtures("stdlib_logging")
def test_an_http_call_with_an_email_in_its_url_logs_no_line_with_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configure_as_a_service_process()
    # How the console calls the directory: the admin's search in the query string.
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"items": []}))
    with httpx.Client(transport=transport, base_url="http://directory.internal") as client:
        assert client.get("/directory/users", params={"q": "alice@example.com"}).is_success
        assert client.get("/directory/users", params={"q": "+14155550123"}).is_success
    logging.getLogger("console").warning("searched")
    captured = capsys.readouterr()
    assert [line["event"] for line in _lines(captured.out)] == ["searched"]
    for trace in ("alice", "4155550123"):
        assert trace not in captured.out + captured.err
