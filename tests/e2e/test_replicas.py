"""Auth replicas behind Traefik: the session check has its own, and losing any replica goes
unnoticed by the application."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from stack.runner import Stack
from tests.e2e.conftest import World
from tests.e2e.support import PASSWORD, AppCaller, access_log


def _servers_used(stack: Stack, router: str, since: datetime) -> Counter[str]:
    """Which replica Traefik sent each request of `router` to that started after `since`."""

    def started(entry: dict[str, Any]) -> datetime:
        seconds, _, fraction = entry["StartUTC"].rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{seconds}.{fraction[:6]:0<6}+00:00")

    return Counter(
        e["ServiceAddr"]
        for e in access_log(stack.config.run_dir)
        if e.get("RouterName", "") == f"{router}@file" and started(e) > since
    )


def _address(stack: Stack, name: str) -> str:
    return next(f"127.0.0.1:{p.port}" for p in stack.plan.processes if p.name == name)


@pytest.fixture
def killed(stack: Stack) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    # Whatever happened, the stack is whole again for the tests after this one.
    for name in names:
        if name not in stack.running():
            stack.restart(name)


def test_requests_keep_succeeding_when_an_auth_replica_is_killed(
    stack: Stack, caller: AppCaller, world: World, killed: list[str]
):
    survivor, victim = _address(stack, "auth-1"), _address(stack, "auth-2")
    membership = {"login": "alice@example.com"}

    # Both replicas serve while both are up.
    before = datetime.now(UTC)
    for _ in range(6):
        assert caller.post("/auth/register", membership).status_code == 200
    assert set(_servers_used(stack, "identity-auth", before)) == {survivor, victim}

    killed.append("auth-2")
    stack.kill("auth-2")  # SIGKILL: no graceful shutdown, connections refused from now on

    after = datetime.now(UTC)
    statuses = [caller.post("/auth/register", membership).status_code for _ in range(20)]
    login = caller.post("/auth/login", {"login": "alice@example.com", "password": PASSWORD})
    assert statuses == [200] * 20
    assert login.status_code == 200, login.text
    assert set(_servers_used(stack, "identity-auth", after)) == {survivor}
    assert caller.session(login.json()["access_token"]).status_code == 200


def test_session_checks_have_a_replica_of_their_own_and_fall_back_when_it_dies(
    stack: Stack, caller: AppCaller, world: World, killed: list[str]
):
    """Sign-ins never land on the session-check replica; when it dies, the others answer."""
    own = _address(stack, "auth-session")
    signed_in = caller.post("/auth/login", {"login": "alice@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    access_token = signed_in.json()["access_token"]

    before = datetime.now(UTC)
    for _ in range(6):
        assert caller.session(access_token).status_code == 200
    refreshed = caller.post(
        "/auth/token/refresh", {"refresh_token": signed_in.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert set(_servers_used(stack, "identity-auth-session", before)) == {own}
    assert own not in _servers_used(stack, "identity-auth", before)

    killed.append("auth-session")
    stack.kill("auth-session")

    after = datetime.now(UTC)
    statuses = [caller.session(access_token).status_code for _ in range(20)]
    assert statuses == [200] * 20
    used = _servers_used(stack, "identity-auth-session", after)
    assert set(used) <= {_address(stack, "auth-1"), _address(stack, "auth-2")}, used

    # Back again: the check returns to its own replica.
    stack.restart("auth-session")
    killed.clear()
    # Traefik's health check (every second) sees it first.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        since = datetime.now(UTC)
        assert caller.session(access_token).status_code == 200
        if own in _servers_used(stack, "identity-auth-session", since):
            break
    else:
        pytest.fail("the session check never went back to its own replica")


def test_stack_processes_share_the_runners_session_each_in_a_group_of_its_own(stack: Stack):
    """One scheduling group (Linux autogroup) for the whole stack, so the hashing threads'
    idle priority counts against the other processes; a process group each for stopping."""
    running = stack.running()
    assert {"auth-1", "auth-session", "traefik", "otp-worker"} <= set(running)
    for name, pid in running.items():
        assert os.getsid(pid) == os.getsid(0), name
        assert os.getpgid(pid) == pid, name
