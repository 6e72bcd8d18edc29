"""Keeping the per-application sync feed (`sync_entry`) in step with the directory.

Whenever what an application may see of a user changes (mapped fields,
status, admin flag, assignments, deletion), the user's entries get a new
`seq`. An entry is live when the user is assigned to the app and is not an
administrator; otherwise it is a removal the app learns about on its next
delta.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from shared.models import Assignment, SyncCounter, SyncEntry, UserAccount


def allocate_seqs(session: Session, count: int = 1) -> int:
    """Reserve `count` sequence numbers and return the first.

    The UPDATE takes the counter's row lock and holds it until COMMIT, so
    sequence numbers become visible in order: a reader that has seen seq N
    can never later find a newly committed row below N.
    """
    session.execute(
        update(SyncCounter).where(SyncCounter.id == 1).values(value=SyncCounter.value + count)
    )
    last = session.scalar(select(SyncCounter.value).where(SyncCounter.id == 1))
    assert last is not None, "sync_counter row missing; run the migrations"
    return int(last) - count + 1


def refresh_user_entries(session: Session, user: UserAccount, seq: int | None = None) -> None:
    """Bring one user's entries in line with their assignments and admin flag."""
    seq = seq if seq is not None else allocate_seqs(session)
    assigned = set(
        session.scalars(select(Assignment.application_id).where(Assignment.user_id == user.id))
    )
    visible = set() if user.is_admin else assigned
    existing = {
        entry.application_id: entry
        for entry in session.scalars(select(SyncEntry).where(SyncEntry.user_id == user.id))
    }
    for app_id, entry in existing.items():
        if app_id in visible:
            entry.seq, entry.is_removed = seq, False
        elif not entry.is_removed:
            entry.seq, entry.is_removed = seq, True
    for app_id in visible - existing.keys():
        session.add(SyncEntry(application_id=app_id, user_id=user.id, seq=seq, is_removed=False))
    session.flush()


def remove_user_entries(session: Session, user_id: uuid.UUID) -> None:
    """A deleted user becomes a removal in every application that could see them."""
    seq = allocate_seqs(session)
    session.execute(
        update(SyncEntry)
        .where(SyncEntry.user_id == user_id, SyncEntry.is_removed.is_(False))
        .values(seq=seq, is_removed=True)
    )


def add_entries_for_new_users(
    session: Session, rows: Iterable[tuple[uuid.UUID, uuid.UUID, int]]
) -> int:
    """Bulk path for imports: `(user_id, application_id, seq)` for brand-new users.

    Each user needs their own seq (seq is unique per application); one user's
    entries in several applications may share it.
    """
    batch = [
        {"application_id": app_id, "user_id": user_id, "seq": seq, "is_removed": False}
        for user_id, app_id, seq in rows
    ]
    if batch:
        session.execute(insert(SyncEntry), batch)
    return len(batch)
