"""Helpers for the CSV import tests: building files, uploading them, looking at the result.

(Named `test_import_*` to sit with the import tests; it holds no tests itself.)
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from shared.models import Assignment, SyncEntry, UserAccount
from shared.runtime import Runtime

HEADER = ["name", "email", "mobile_number", "emp_id", "applications"]


def csv_bytes(rows: list[list[str]], header: list[str] | None = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def refused(response: Response, status: int, code: str) -> dict[str, Any]:
    """The error body of a refused request, after checking its status and code."""
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def upload(client: TestClient, content: bytes, **params: Any) -> Response:
    return client.post(
        "/directory/users/import",
        files={"file": ("users.csv", content, "text/csv")},
        params={k: str(v).lower() for k, v in params.items()},
    )


def counts(runtime: Runtime) -> dict[str, int]:
    """Rows in the tables an import writes: a refused import must leave these alone."""
    with runtime.session_factory() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (UserAccount, Assignment, SyncEntry)
        }


def user_by_email(admin: TestClient, email: str) -> dict[str, Any]:
    found = admin.get("/directory/users", params={"q": email}).json()["items"]
    matches = [u for u in found if u["email"] == email]
    assert len(matches) == 1, found
    return matches[0]


def audit_events(runtime: Runtime, event_type: str) -> list[dict[str, Any]]:
    entries = runtime.redis.xrange(runtime.keys.audit_stream)
    events = [orjson.loads(fields["event"]) for _, fields in entries]
    return [e for e in events if e["type"] == event_type]
