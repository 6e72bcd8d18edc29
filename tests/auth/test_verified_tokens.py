"""The per-process map of recently verified access tokens stays as small as recent traffic."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from auth.sessions import verified as verified_module
from auth.sessions.verified import REMEMBER_SECONDS, SWEEP_EVERY, VerifiedTokens
from shared.runtime import Runtime
from shared.signing_keys import ensure_signing_keys


def _tokens(runtime: Runtime, count: int) -> list[str]:
    return [
        runtime.tokens.mint(subject=f"user-{n}", audience="app-a", ttl_seconds=600)[0]
        for n in range(count)
    ]


def test_expired_entries_are_swept_as_new_tokens_arrive(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    with runtime.session_factory() as session:
        ensure_signing_keys(session, runtime.box)
        session.commit()
    now = [1_000.0]
    monkeypatch.setattr(verified_module, "time", SimpleNamespace(time=lambda: now[0]))
    remembered = VerifiedTokens(runtime)

    first = _tokens(runtime, SWEEP_EVERY)
    for token in first:
        remembered.verify(token, "app-a")
    assert len(remembered) == SWEEP_EVERY
    assert remembered.remembered(first[0], "app-a") is not None

    now[0] += REMEMBER_SECONDS + 1  # every first-batch entry is now past its time
    second = _tokens(runtime, SWEEP_EVERY)
    for token in second:
        remembered.verify(token, "app-a")
    # The sweep at the next multiple of SWEEP_EVERY dropped the whole first batch.
    assert len(remembered) == SWEEP_EVERY
    assert remembered.remembered(first[0], "app-a") is None
    assert all(remembered.remembered(t, "app-a") is not None for t in second)
