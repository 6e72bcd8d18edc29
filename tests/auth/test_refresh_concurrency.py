"""Refresh rotation under concurrency: one token fired 20 times at once yields one new pair."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from shared.models import RefreshToken


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
