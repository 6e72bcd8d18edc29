"""Fixtures of the otp-delivery tests: local sinks, real worker processes, an admin client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shared.runtime import Runtime
from shared.settings import Settings
from tests.otp_delivery.sinks import HttpSink, SmtpSink
from tests.otp_delivery.workers import Workers


@pytest.fixture(autouse=True)
def _sinks_are_reachable(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sinks listen on 127.0.0.1, which production refuses as a provider host."""
    # The base too: a platform-settings reload (the bus listener does one when it starts)
    # rebuilds runtime.settings from it.
    monkeypatch.setattr(runtime.base_settings, "otp_allow_private_hosts", True)
    monkeypatch.setattr(runtime.settings, "otp_allow_private_hosts", True)


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def otp_admin(otp_client: TestClient, admin_headers: dict[str, str]) -> Iterator[TestClient]:
    """The otp-delivery API as a signed-in administrator."""
    otp_client.headers.update(admin_headers)
    yield otp_client
    for name in admin_headers:
        otp_client.headers.pop(name, None)


@pytest.fixture
def workers(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """Real `celery worker` processes on this run's database and Redis prefix; always killed."""
    pool = Workers(settings, tmp_path_factory.mktemp("workers"))
    yield pool
    pool.stop_all()
