"""`GET /audit/events.csv`: the filtered log as a spreadsheet-safe CSV, newest first."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from shared.audit import EventType
from shared.models import UserAccount
from shared.runtime import Runtime
from tests.audit.support import ago, record, stored


def _rows(response_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response_text)))


def test_export_lists_the_filtered_events_newest_first(
    runtime: Runtime, auditor: TestClient, admin_user: UserAccount
) -> None:
    at = datetime(2026, 4, 5, 6, 7, 8, tzinfo=UTC)
    stored(
        runtime,
        record(EventType.API_DENIED_IP, occurred_at=at, subject_user_id=str(admin_user.id)),
        record(EventType.API_DENIED_IP, occurred_at=ago(minutes=1)),
        record(EventType.LOGIN_SUCCEEDED),
    )

    response = auditor.get("/audit/events.csv", params={"type": "api.denied.ip_rejected"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "audit-events.csv" in response.headers["content-disposition"]
    rows = _rows(response.text)
    assert [r["event"] for r in rows] == ["api.denied.ip_rejected"] * 2
    oldest = rows[-1]
    assert (oldest["date"], oldest["time"]) == ("2026-04-05", "06:07:08")
    assert oldest["user"] == admin_user.name
    assert oldest["user_id"] == str(admin_user.id)
    assert oldest["effective_ip"] == "198.51.100.7"


def test_cells_a_spreadsheet_would_run_as_formulas_are_escaped(
    runtime: Runtime, auditor: TestClient
) -> None:
    stored(
        runtime,
        record(
            actor_name='=HYPERLINK("http://evil")',
            actor_id="+1+1",
            forwarded_ip="-2+3, 10.0.0.1",
            user_agent="@SUM(A1)",
            details={"note": "=1+1"},
        ),
        record(actor_name="\tTabbed", user_agent="\rReturn"),
    )

    rows = _rows(auditor.get("/audit/events.csv").text)

    assert rows[1]["actor_name"] == '\'=HYPERLINK("http://evil")'
    assert rows[1]["actor_id"] == "'+1+1"
    assert rows[1]["forwarded_ip"] == "'-2+3, 10.0.0.1"
    assert rows[1]["user_agent"] == "'@SUM(A1)"
    assert rows[1]["details"] == '{"note":"=1+1"}'  # begins with "{": nothing to run
    # Control characters were escaped when stored, so they cannot start a cell either.
    assert rows[0]["actor_name"] == "\\tTabbed"
    assert rows[0]["user_agent"] == "\\rReturn"


def test_export_of_many_events_streams_them_all(runtime: Runtime, auditor: TestClient) -> None:
    events = [record(EventType.API_CALL) for _ in range(2500)]
    stored(runtime, *events)

    rows = _rows(auditor.get("/audit/events.csv", params={"type": "api.call"}).text)

    assert len(rows) == 2500
    assert {r["uuid"] for r in rows} == {e.uuid for e in events}
