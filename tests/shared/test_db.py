"""`in_transaction`: the per-request transaction of `get_db`, in one threadpool trip; engines."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared.after_commit import defer
from shared.db import create_db_engine, in_transaction
from shared.models import Application
from shared.runtime import Runtime
from tests.loops import in_new_loop


def _app_names(runtime: Runtime) -> list[str]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(Application.name)))


def test_work_runs_off_the_event_loop_and_is_committed_when_awaited(runtime: Runtime) -> None:
    seen: dict[str, object] = {}

    def work(session: Session) -> str:
        seen["thread"] = threading.get_ident()
        session.add(Application(name="billing", status="active"))
        defer(session, lambda: seen.setdefault("after_commit", _app_names(runtime)))
        return "done"

    async def call() -> str:
        seen["loop_thread"] = threading.get_ident()
        return await in_transaction(runtime.session_factory, work)

    assert in_new_loop(call) == "done"
    assert seen["thread"] != seen["loop_thread"]
    # Committed, and the after-commit actions ran, before the caller got the result.
    assert seen["after_commit"] == ["billing"]
    assert _app_names(runtime) == ["billing"]


def test_an_error_rolls_back_and_reaches_the_caller(runtime: Runtime) -> None:
    announced: list[str] = []

    def work(session: Session) -> None:
        session.add(Application(name="payroll", status="active"))
        session.flush()
        defer(session, lambda: announced.append("payroll"))
        raise LookupError("no such user")

    with pytest.raises(LookupError, match="no such user"):
        in_new_loop(lambda: in_transaction(runtime.session_factory, work))
    assert _app_names(runtime) == []
    assert announced == []


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_a_failed_statement_does_not_carry_its_values_into_the_error(
    runtime: Runtime, dialect: str, tmp_path: Path
) -> None:
    # str(exc) reaches logs (unhandled_error, the audit consumer's retries): a failed
    # INSERT must not spell out the email address, mobile number or hash it carried.
    url = runtime.settings.database_url if dialect == "mysql" else f"sqlite:///{tmp_path}/x.db"
    engine = create_db_engine(url)
    try:
        with pytest.raises(DBAPIError) as caught, engine.connect() as connection:
            connection.execute(
                text("SELECT * FROM no_such_table WHERE email = :email"),
                {"email": "grace.hopper@example.com"},
            )
        assert "grace.hopper" not in str(caught.value)
        assert "no_such_table" in str(caught.value)  # the statement itself still helps
    finally:
        engine.dispose()
