"""Refresh rotation under concurrency: one token fired 20 times at once yields one new pair."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from shared.audit import EventType
from shared.models import RefreshToken
from tests.auth.support import audit_events


def test_twenty_parallel_refreshes_issue_exactly_one_new_pair(caller, member, runtime):
    tokens = caller.signed_in(member["email"])
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: caller.refresh(tokens["refresh_token"]), range(20)))

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}, [
        r.text for r in responses if r.status_code not in (200, 409)
    ]
    new_pairs = {
        (r.json()["access_token"], r.json()["refresh_token"])
        for r in responses
        if r.status_code == 200
    }
    assert len(new_pairs) == 1
    with runtime.session_factory() as db:
        rows = db.scalar(select(func.count()).select_from(RefreshToken))
    assert rows == 2  # the original and its one replacement

    ((access, refresh),) = new_pairs
    assert caller.session(access).status_code == 200
    assert caller.refresh(refresh).status_code == 200  # the winner's pair works, once


def test_conflicting_duplicates_do_not_revoke_the_session(caller, member):
    tokens = caller.signed_in(member["email"])
    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(lambda _: caller.refresh(tokens["refresh_token"]), range(5)))
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert caller.session(winner["access_token"]).status_code == 200


@pytest.mark.parametrize("grace", [10, 0])
def test_two_parallel_duplicates_get_one_pair_and_no_revocation(
    caller, member, runtime, monkeypatch, grace
):
    monkeypatch.setattr(runtime.settings, "refresh_reuse_grace_seconds", grace)
    tokens = caller.signed_in(member["email"])
    barrier = threading.Barrier(2)

    def refresh(_: int) -> httpx.Response:
        barrier.wait()
        return caller.refresh(tokens["refresh_token"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(refresh, range(2)))
    answered = [r.json() for r in responses if r.status_code == 200]
    assert answered and all(r.status_code in (200, 409) for r in responses)
    assert len({(a["access_token"], a["refresh_token"]) for a in answered}) == 1
    assert not audit_events(runtime, EventType.REFRESH_REUSE_DETECTED)
    assert caller.session(answered[0]["access_token"]).status_code == 200
    assert caller.refresh(answered[0]["refresh_token"]).status_code == 200
