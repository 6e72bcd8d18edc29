"""Who acted (actor) and what on (target): in `/audit/events`, its filters and the CSV."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from shared.audit import EventType
from shared.models import UserAccount
from shared.runtime import Runtime
from tests.audit.support import ago, record, stored

APP = "aaaaaaaa-0000-4000-8000-0000000000a1"
KEY = "cccccccc-0000-4000-8000-0000000000c1"


@pytest.fixture
def trail(runtime: Runtime, admin_user: UserAccount) -> None:
    """An administrator edits a user and deletes a key; an application calls the API; a user
    signs in; the schedule rotates keys."""
    user = str(admin_user.id)
    key = {"key_id": KEY, "prefix": "ask_Ab12", "application_name": "Payroll"}
    stored(
        runtime,
        record(EventType.ADMIN_USER_UPDATED, occurred_at=ago(minutes=5), subject_user_id=user),
        record(
            EventType.ADMIN_KEY_DELETED,
            occurred_at=ago(minutes=4),
            application_id=APP,
            details={"before": key},
        ),
        record(
            EventType.API_CALL,
            occurred_at=ago(minutes=3),
            actor_type="app",
            actor_id=APP,
            actor_name="Payroll",
            application_id=APP,
        ),
        record(
            EventType.ADMIN_APP_UPDATED,
            occurred_at=ago(minutes=2),
            application_id=APP,
        ),
        record(
            EventType.LOGIN_SUCCEEDED,
            occurred_at=ago(minutes=1),
            actor_type="user",
            actor_id=user,
            actor_name=None,
            subject_user_id=user,
        ),
        record(EventType.SIGNING_KEYS_ROTATED, actor_type="system", actor_id=None, actor_name=None),
    )


def _pairs(body: dict) -> list[tuple[str, str | None, str | None]]:
    return [
        (
            e["type"],
            e["actor"]["type"],
            f"{e['target']['type']}:{e['target']['name'] or e['target']['id']}"
            if e["target"]
            else None,
        )
        for e in body["items"]
    ]


@pytest.mark.usefixtures("trail")
def test_each_event_names_its_actor_and_its_target(auditor: TestClient, admin_user):
    body = auditor.get("/audit/events").json()
    assert _pairs(body) == [
        ("signing_keys.rotated", "system", None),
        ("login.succeeded", "user", f"user:{admin_user.name}"),
        # The application acted on nothing but itself: no target of its own.
        ("admin.application.updated", "admin", f"application:{APP}"),
        ("api.call", "app", None),
        ("admin.api_key.deleted", "admin", "api_key:ask_Ab12… of Payroll"),
        ("admin.user.updated", "admin", f"user:{admin_user.name}"),
    ]
    key_event = body["items"][4]
    assert key_event["target"]["id"] == KEY


@pytest.mark.usefixtures("trail")
@pytest.mark.parametrize(
    ("params", "types"),
    [
        ({"actor_type": "app"}, ["api.call"]),
        (
            {"actor_type": "admin"},
            ["admin.application.updated", "admin.api_key.deleted", "admin.user.updated"],
        ),
        ({"actor": "Payroll"}, ["api.call"]),
        ({"actor": "admin-1", "target_type": "user"}, ["admin.user.updated"]),
        ({"target_type": "api_key"}, ["admin.api_key.deleted"]),
        ({"target_type": "application"}, ["admin.application.updated"]),
        ({"target_type": "user"}, ["login.succeeded", "admin.user.updated"]),
    ],
)
def test_actor_and_target_filter_the_log(auditor: TestClient, params, types):
    body = auditor.get("/audit/events", params=params).json()
    assert [e["type"] for e in body["items"]] == types


@pytest.mark.usefixtures("trail")
@pytest.mark.parametrize(
    "params",
    [{"actor_type": "robot"}, {"target_type": "table"}, {"actor": "x" * 201}],
)
def test_a_bad_actor_or_target_filter_is_refused_not_ignored(auditor: TestClient, params):
    response = auditor.get("/audit/events", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.usefixtures("trail")
def test_the_csv_carries_actor_and_target(auditor: TestClient, admin_user):
    response = auditor.get("/audit/events.csv", params={"type": "admin.api_key.deleted"})
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert (row["actor_type"], row["actor_id"], row["actor_name"]) == (
        "admin",
        "admin-1",
        "Ada Admin",
    )
    assert (row["target_type"], row["target_id"], row["target"]) == (
        "api_key",
        KEY,
        "ask_Ab12… of Payroll",
    )
    rows = list(csv.DictReader(io.StringIO(auditor.get("/audit/events.csv").text)))
    by_type = {r["event"]: r for r in rows}
    assert by_type["admin.user.updated"]["target"] == admin_user.name
    assert by_type["api.call"]["target_type"] == ""
