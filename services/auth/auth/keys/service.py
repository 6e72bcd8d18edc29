"""Rotating the signing keys: next becomes current, current becomes previous, a new next.

Rotation runs under row locks on the keys it changes, so two replicas (or a
scheduled rotation racing an administrator's) rotate once, not twice.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.after_commit import defer
from shared.invalidation import Topic
from shared.models import SigningKey
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.signing_keys import ALGORITHMS, DEFAULT_OVERLAP, KeyState, describe, new_signing_key


def _live_keys(session: Session, *, lock: bool = False) -> list[SigningKey]:
    query = (
        select(SigningKey)
        .where(SigningKey.alg.in_(ALGORITHMS), SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at)
    )
    return list(session.scalars(query.with_for_update() if lock else query))


def rotate_signing_keys(
    session: Session, runtime: Runtime, overlap: timedelta = DEFAULT_OVERLAP
) -> list[str]:
    """Rotate every algorithm; the kids that sign from now on.

    The previous keys verify for `overlap` (by default longer than any token
    they signed can live; 0 for a key believed compromised).
    """
    now = utcnow()
    keys = _live_keys(session, lock=True)
    signing = []
    for alg in ALGORITHMS:
        mine = [k for k in keys if k.alg == alg]
        for current in (k for k in mine if k.activated_at is not None):
            current.retired_at, current.verify_until = now, now + overlap
        waiting = [k for k in mine if k.activated_at is None]
        # The oldest next key was published longest: every relying party has it by now.
        promoted = waiting[0] if waiting else new_signing_key(alg, runtime.box, activated_at=None)
        promoted.activated_at = now
        session.add(promoted)
        session.add(new_signing_key(alg, runtime.box, activated_at=None))
        signing.append(promoted.kid)
    session.flush()
    # Every replica reloads its keys on this message: the new keys sign within a second.
    defer(session, lambda: runtime.bus.publish(Topic.SIGNING_KEYS))
    return signing


def rotate_if_due(session: Session, runtime: Runtime, period: timedelta) -> list[str] | None:
    """The scheduled rotation: rotate once a current key has signed for `period`.

    Checked under the keys' row locks: of replicas that find it due at once, the
    first rotates and the others, let through after its commit, find nothing due.
    """
    now = utcnow()
    keys = _live_keys(session, lock=True)
    if not any(k.activated_at is not None and k.activated_at + period <= now for k in keys):
        return None
    return rotate_signing_keys(session, runtime)


def key_states(session: Session) -> list[KeyState]:
    """Every key that still verifies, by algorithm, oldest first."""
    now = utcnow()
    rows = session.scalars(select(SigningKey).order_by(SigningKey.alg, SigningKey.created_at))
    return [describe(row) for row in rows if row.verify_until is None or row.verify_until > now]
