"""Recovery codes: ten single-use codes for when the authenticator is lost.

Shown once when generated and stored only as keyed hashes (HMAC under the
deployment's secret, so a copy of the database cannot be brute-forced
offline); generating a new set deletes the old one. A code is checked against
every unused code of the user in constant time and consumed with a
conditional update, so two requests with one code cannot both pass.
"""

from __future__ import annotations

import hmac
import secrets
import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shared.models import RecoveryCode
from shared.models.base import new_id, utcnow
from shared.runtime import Runtime

COUNT = 10
# Crockford-like: no 0/O, 1/l/I, so a code read off paper is typed right.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10  # 31^10 ≈ 2^49.5 each, and the lockout allows a handful of guesses


def normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _hash(runtime: Runtime, user_id: uuid.UUID, code: str) -> str:
    return runtime.box.keyed_hash(f"recovery-code:{user_id}:{normalise(code)}")


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def generate(session: Session, runtime: Runtime, user_id: uuid.UUID) -> list[str]:
    """A new set of codes (the old set void), returned in plain text this once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_code() for _ in range(COUNT)]
    now = utcnow()
    session.add_all(
        RecoveryCode(
            id=new_id(), user_id=user_id, code_hash=_hash(runtime, user_id, c), created_at=now
        )
        for c in codes
    )
    session.flush()
    return codes


def consume(session: Session, runtime: Runtime, user_id: uuid.UUID, code: str) -> bool:
    """Whether `code` is one of the user's unused codes; if so it is used up."""
    if not 8 <= len(normalise(code)) <= 32:
        return False
    wanted = _hash(runtime, user_id, code)
    unused = session.execute(
        select(RecoveryCode.id, RecoveryCode.code_hash).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    match = None
    for row_id, stored in unused:  # all compared, in constant time each
        if hmac.compare_digest(stored, wanted):
            match = row_id
    if match is None:
        return False
    used = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == match, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


def remaining(session: Session, user_id: uuid.UUID) -> int:
    rows = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))


def remove_all(session: Session, user_id: uuid.UUID) -> int:
    """Delete the user's codes; how many were still unused."""
    unused = remaining(session, user_id)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    return unused
