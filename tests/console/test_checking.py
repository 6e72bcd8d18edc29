"""Checking tells the truth in each run mode: what it asked, and when something is down, why
and what to do. (With real servers stopped in Chromium: tests/browser/test_checking_*.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from console import checks
from console.app import create_app as create_console_app
from console.rendering import duration
from shared.devmode import dev_settings
from shared.runtime import Runtime
from shared.settings import Settings
from tests.conftest import PEER
from tests.faults.support import free_port


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (900, "15 min"),
        (7776000, "90 days"),
        (86400, "1 day"),
        (43200, "12 h"),
        (5400, "1 h 30 min"),
        (45, "45 s"),
        (0, "0 s"),
        ("not a number", "not a number"),
    ],
)
def test_durations_read_in_human_units(seconds, shown):
    assert duration(seconds) == shown


@pytest.fixture
def dev_runtime(tmp_path, monkeypatch) -> Iterator[Runtime]:
    """`make dev`'s settings: SQLite and the in-process Redis stand-in."""
    for name in ("IDENTITY_DATABASE_URL", "IDENTITY_REDIS_URL", "IDENTITY_ENV"):
        monkeypatch.delenv(name, raising=False)
    runtime = Runtime(dev_settings(tmp_path))
    yield runtime
    runtime.close()


def test_make_dev_checks_its_sqlite_file_and_redis_stand_in_and_both_are_well(dev_runtime):
    database = checks.database_check(dev_runtime)
    assert database.state == "ok" and database.name == "Database"
    assert (
        database.detail.startswith("SQLite 3.")
        and "identity.db: SELECT answered" in database.detail
    )
    redis_row = checks.redis_check(dev_runtime)
    # fakeredis has no INFO: asking for it made this row "down - ResponseError".
    assert (redis_row.state, redis_row.detail) == (
        "ok",
        "in-process stand-in (memory://, make dev): PING answered",
    )
    assert [c.state for c in checks.infrastructure_checks(dev_runtime)] == ["ok"] * 4


@pytest.fixture
def dead_port() -> int:
    return free_port()  # nothing listens there


def test_a_database_that_cannot_be_reached_is_named_with_cause_and_advice(settings, dead_port):
    url = f"mysql+pymysql://root@127.0.0.1:{dead_port}/identity"
    runtime = Runtime(settings.model_copy(update={"database_url": url}))
    try:
        row = checks.database_check(runtime)
    finally:
        runtime.close()
    assert row.state == "down"
    assert row.detail.startswith(f"127.0.0.1:{dead_port}/identity: OperationalError: ")
    assert "Can't connect" in row.detail and "sqlalche.me" not in row.detail
    assert row.advice == "Start the database, or correct IDENTITY_DATABASE_URL."


@pytest.fixture
def redis_down_console(settings: Settings, dead_port: int) -> Iterator[TestClient]:
    runtime = Runtime(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{dead_port}/0"}))
    try:
        with TestClient(create_console_app(runtime), client=PEER) as client:
            yield client
    finally:
        runtime.close()


def test_without_redis_every_page_shows_checking_with_the_cause_not_an_error(
    redis_down_console, dead_port
):
    for path, cookie in (("/setup", None), ("/setup/directory", "a-session-id")):
        if cookie:  # a signed-in browser's session can't be read either
            redis_down_console.cookies.set("console_session", cookie)
        response = redis_down_console.get(path)
        assert response.status_code == 503, path
        table = response.text.split('id="checks"')[1].split("</table>")[0]
        assert '<tr class="check-down"><td>Redis</td>' in table
        assert "ConnectionError: connection refused" in table
        assert "Start Redis, or correct IDENTITY_REDIS_URL." in table
        assert '<tr class="check-ok"><td>Database</td>' in table
        assert str(dead_port) not in response.text  # anyone may see this page: no addresses
    # Nothing was signed in and no cookie was handed out.
    assert "set-cookie" not in response.headers
