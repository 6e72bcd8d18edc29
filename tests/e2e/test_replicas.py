"""Auth replicas behind Traefik: the session check has its own, and losing any replica goes
unnoticed by the application."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stack.runner import Stack
from tests.e2e.conftest import World
from tests.e2e.support import PASSWORD, AppCaller, access_log
from tests.proc import children, gone


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
    """One scheduling group (Linux autogroup) for the whole stack, so its processes weigh the
    same against each other; a process group each for stopping."""
    running = stack.running()
    assert {"auth-1", "auth-session", "traefik", "otp-worker"} <= set(running)
    for name, pid in running.items():
        assert os.getsid(pid) == os.getsid(0), name
        assert os.getpgid(pid) == pid, name


def _hashing_processes(pid: int) -> list[int]:
    return [
        child
        for child in children(pid)
        if b"multiprocessing.spawn" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_sign_in_replicas_hash_in_groups_of_their_own_that_leave_with_them(
    stack: Stack, caller: AppCaller, world: World, killed: list[str]
):
    """The argon2 work of a sign-in runs in processes that lead sessions of their own at the
    lowest priority (so the stack, Redis and Traefik all preempt it), and a replica killed
    outright takes them with it."""
    for _ in range(4):  # both replicas, round-robin
        login = caller.post("/auth/login", {"login": "alice@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
    replicas = {name: stack.running()[name] for name in ("auth-1", "auth-2")}
    hashing = {name: _hashing_processes(pid) for name, pid in replicas.items()}
    assert all(hashing.values()), hashing
    # The two replicas split the host's CPUs between their hashing processes.
    per_replica = max(1, len(os.sched_getaffinity(0)) // 2)
    for pid in replicas.values():
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"IDENTITY_PASSWORD_HASHING_PROCESSES={per_replica}".encode() in environ
    assert not _hashing_processes(stack.running()["auth-session"])  # it never hashes
    for pid in [p for pids in hashing.values() for p in pids]:
        assert os.getsid(pid) == pid
        assert os.getsid(pid) != os.getsid(0)
        assert os.sched_getscheduler(pid) == os.SCHED_IDLE
        autogroup = Path(f"/proc/{pid}/autogroup")
        if autogroup.exists():
            assert autogroup.read_text().split()[-1] == "19"

    killed.append("auth-2")
    stack.kill("auth-2")  # SIGKILL: the replica cleans nothing up
    assert gone(hashing["auth-2"], timeout=10), "auth-2's hashing processes outlived it"
    assert all(Path(f"/proc/{pid}").exists() for pid in hashing["auth-1"])
