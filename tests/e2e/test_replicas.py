"""Two auth replicas behind Traefik's load balancer; one dies, the application does not notice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from stack.runner import Stack
from tests.e2e.conftest import World
from tests.e2e.support import PASSWORD, AppCaller, access_log


def _auth_servers_used(stack: Stack, since: datetime) -> Counter[str]:
    """Which auth replica Traefik sent each request to that started after `since`."""

    def started(entry: dict[str, Any]) -> datetime:
        seconds, _, fraction = entry["StartUTC"].rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{seconds}.{fraction[:6]:0<6}+00:00")

    return Counter(
        e["ServiceAddr"]
        for e in access_log(stack.config.run_dir)
        if e.get("RouterName", "").startswith("identity-auth@") and started(e) > since
    )


@pytest.fixture
def killed_auth_2(stack: Stack) -> Iterator[str]:
    yield "auth-2"
    # Whatever happened, the stack is whole again for the tests after this one.
    if "auth-2" not in stack.running():
        stack.restart("auth-2")


def test_requests_keep_succeeding_when_an_auth_replica_is_killed(
    stack: Stack, caller: AppCaller, world: World, killed_auth_2: str
):
    ports = {p.name: p.port for p in stack.plan.processes}
    survivor = f"127.0.0.1:{ports['auth-1']}"
    tokens = caller.post("/auth/login", {"login": "alice@example.com", "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    access_token = tokens.json()["access_token"]

    # Both replicas serve while both are up.
    before = datetime.now(UTC)
    for _ in range(6):
        assert caller.session(access_token).status_code == 200
    assert set(_auth_servers_used(stack, before)) == {survivor, f"127.0.0.1:{ports['auth-2']}"}

    stack.kill(killed_auth_2)  # SIGKILL: no graceful shutdown, connections refused from now on

    after = datetime.now(UTC)
    statuses = [caller.session(access_token).status_code for _ in range(20)]
    login = caller.post("/auth/login", {"login": "alice@example.com", "password": PASSWORD})
    assert statuses == [200] * 20
    assert login.status_code == 200, login.text
    assert set(_auth_servers_used(stack, after)) == {survivor}
