"""MariaDB kills the services' pooled connections (`KILL <id>`) while traffic runs.

A connection killed while idle is replaced by the pool's pre-ping; one killed
mid-statement fails that one request with a clean 503. Never a 500, and the
same process serves normally as soon as the kills stop.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from shared.runtime import Runtime
from shared.settings import Settings
from shared.testing.plugin import _mysql_params
from tests.auth.support import AppCaller, audit_events
from tests.faults.support import Response, Traffic, wait_until


@pytest.fixture
def killer() -> Iterator[Any]:
    """A root connection of its own, outside the service's pool."""
    connection = pymysql.connect(autocommit=True, **_mysql_params())
    yield connection
    connection.close()


def _kill_service_connections(killer: Any, database: str) -> int:
    """KILL every connection open on this run's database (only this process uses it)."""
    with killer.cursor() as cur:
        cur.execute(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
            (database,),
        )
        ids = [row[0] for row in cur.fetchall()]
        for connection_id in ids:
            with contextlib.suppress(pymysql.MySQLError):  # it ended on its own meanwhile
                cur.execute(f"KILL {int(connection_id)}")
    return len(ids)


class Renames:
    """An admin edit that gives the user a new name each call, remembering each answer."""

    def __init__(self, admin: TestClient, user_id: str) -> None:
        self._admin, self._path = admin, f"/directory/users/{user_id}"
        self._numbers = itertools.count(1)
        self.answered: dict[int, list[str]] = defaultdict(list)

    def __call__(self) -> Response:
        name = f"Grace Hopper {next(self._numbers)}"
        response = self._admin.patch(self._path, json={"name": name})
        self.answered[response.status_code].append(name)
        return response


def _tokens(caller: AppCaller, login: str) -> str:
    return str(caller.signed_in(login)["access_token"])


def test_killed_connections_give_503_or_success_never_500(
    killer: Any,
    settings: Settings,
    runtime: Runtime,
    app_caller: AppCaller,
    admin: TestClient,
    app_member: dict[str, Any],
) -> None:
    database = make_url(settings.database_url).database or ""
    caller, member = app_caller, app_member
    login = member["email"]
    edits = Renames(admin, member["auth_user_id"])
    traffic = Traffic(
        {
            # Each of these reads or writes MariaDB on every call.
            "login": lambda: caller.login(login),
            "admin list": lambda: admin.get("/directory/users"),
            "admin edit": edits,
        }
    )
    killed = 0
    with traffic:
        wait_until(lambda: traffic.seen[("login", 200)] >= 2, what="traffic before the fault")
        for _ in range(15):  # a kill, then a few requests, again and again
            killed += _kill_service_connections(killer, database)
            traffic.wait_for_more(2)

    assert killed > 0
    for label in ("login", "admin list", "admin edit"):
        assert traffic.statuses(label) <= {200, 503}, (label, traffic.seen, traffic.bodies)
    if 503 in traffic.bodies:
        assert "unavailable" in traffic.bodies[503]

    # Each rename answered 200 has its audit event, once; one answered 503 has none.
    renamed = [r.details["after"]["name"] for r in audit_events(runtime, "admin.user.updated")]
    assert sorted(renamed) == sorted(edits.answered[200])
    assert not set(renamed) & set(edits.answered[503])

    # The same process, its pool refilled, serves normally.
    assert caller.login(login).status_code == 200
    user = admin.get(f"/directory/users/{member['auth_user_id']}")
    assert user.status_code == 200 and user.json()["name"] == edits.answered[200][-1]


def test_a_connection_killed_while_idle_in_the_pool_costs_nothing(
    killer: Any,
    settings: Settings,
    app_caller: AppCaller,
    admin: TestClient,
    app_member: dict[str, Any],
) -> None:
    database = make_url(settings.database_url).database or ""
    caller, member = app_caller, app_member
    token = _tokens(caller, member["email"])
    assert admin.get("/directory/users").status_code == 200
    assert _kill_service_connections(killer, database) > 0

    # Pre-ping finds each dead connection and opens a new one: no request notices.
    responses: list[Response] = [caller.login(member["email"]), admin.get("/directory/users")]
    responses.append(caller.refresh(caller.signed_in(member["email"])["refresh_token"]))
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    assert caller.session(token).status_code == 200
