"""Side effects queued with `defer` happen only if the transaction commits."""

from __future__ import annotations

from sqlalchemy import select

from shared.after_commit import defer
from shared.models import Application
from shared.runtime import Runtime


def _app_names(runtime: Runtime) -> list[str]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(Application.name)))


def test_deferred_action_runs_after_commit(runtime: Runtime) -> None:
    seen: list[list[str]] = []
    with runtime.session_factory() as session:
        session.add(Application(name="billing", status="active"))
        session.flush()
        # When the action runs, another connection must already see the row.
        defer(session, lambda: seen.append(_app_names(runtime)))
        assert seen == []
        session.commit()
    assert seen == [["billing"]]


def test_deferred_actions_run_once_in_order(runtime: Runtime) -> None:
    calls: list[str] = []
    with runtime.session_factory() as session:
        defer(session, lambda: calls.append("first"))
        defer(session, lambda: calls.append("second"))
        session.commit()
        session.commit()  # a second commit has nothing queued
    assert calls == ["first", "second"]


def test_deferred_action_is_dropped_after_rollback(runtime: Runtime) -> None:
    calls: list[str] = []
    with runtime.session_factory() as session:
        session.add(Application(name="payroll", status="active"))
        session.flush()
        defer(session, lambda: calls.append("announced"))
        session.rollback()
        # The next transaction on the same session must not inherit it.
        session.commit()
    assert calls == []
    assert _app_names(runtime) == []


def test_failing_action_does_not_undo_the_commit_or_stop_the_others(runtime: Runtime) -> None:
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("redis is down")

    with runtime.session_factory() as session:
        session.add(Application(name="crm", status="active"))
        defer(session, broken)
        defer(session, lambda: calls.append("after the failure"))
        session.commit()
    assert calls == ["after the failure"]
    assert _app_names(runtime) == ["crm"]


def test_sessions_keep_their_own_queues(runtime: Runtime) -> None:
    calls: list[str] = []
    with runtime.session_factory() as first, runtime.session_factory() as second:
        defer(first, lambda: calls.append("first"))
        defer(second, lambda: calls.append("second"))
        second.rollback()
        first.commit()
    assert calls == ["first"]
