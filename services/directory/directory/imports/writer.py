"""Second pass of an import: write what the first pass decided, in batches, in one transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directory.imports import repository
from directory.sync import feed
from shared.errors import Conflict
from shared.models.base import new_id, utcnow
from shared.sync_contract import compute_sync_hash

BATCH = 1000


class DirectoryChanged(Conflict):
    code = "import_conflict"
    message = (
        "Another change to the directory clashed with this import; nothing was imported. Try again."
    )


def _read(spool: IO[bytes]) -> Iterator[dict[str, Any]]:
    spool.seek(0)
    for line in spool:
        yield orjson.loads(line)


class PlanWriter:
    """Batches the planned rows; every user written gets its own sync feed seq."""

    def __init__(self, session: Session, users_to_write: int) -> None:
        self.session = session
        self.now: datetime = utcnow()
        # One counter update for the whole import; the row lock it takes is held to COMMIT.
        self.next_seq = feed.allocate_seqs(session, users_to_write) if users_to_write else 0
        self.new_users: list[dict[str, Any]] = []
        self.changed_users: list[dict[str, Any]] = []
        self.assignments: list[dict[str, Any]] = []
        self.new_entries: list[tuple[uuid.UUID, uuid.UUID, int]] = []
        self.refresh: dict[uuid.UUID, tuple[int, bool]] = {}

    def write(self, spool: IO[bytes]) -> None:
        try:
            for item in _read(spool):
                if item["op"] == "create":
                    self._create(item)
                else:
                    self._update(item)
                if len(self.new_users) + len(self.refresh) >= BATCH:
                    self._flush()
            self._flush()
        except IntegrityError as exc:
            # A user created or edited between the check and the write took a value.
            raise DirectoryChanged() from exc

    def _seq(self) -> int:
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        return seq

    def _assign(self, user_id: uuid.UUID, app_ids: list[str]) -> list[uuid.UUID]:
        apps = [uuid.UUID(a) for a in app_ids]
        self.assignments.extend(
            {"user_id": user_id, "application_id": a, "created_at": self.now} for a in apps
        )
        return apps

    def _create(self, item: dict[str, Any]) -> None:
        fields = {k: item[k] for k in ("name", "email", "mobile_number", "emp_id")}
        fields["status"] = "active"
        user_id = new_id()
        self.new_users.append(
            {
                "id": user_id,
                **fields,
                "mobile_carrier": None,
                "is_admin": item["is_admin"],
                "mfa_enabled": False,
                "password_hash": None,
                "sync_hash": compute_sync_hash(fields),
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        apps = self._assign(user_id, item["apps"])
        seq = self._seq()
        if not item["is_admin"]:  # administrators never appear in any app's feed
            self.new_entries.extend((user_id, app_id, seq) for app_id in apps)

    def _update(self, item: dict[str, Any]) -> None:
        user_id = uuid.UUID(item["id"])
        if item["fields_changed"]:
            fields = {k: item[k] for k in ("name", "email", "mobile_number", "emp_id", "status")}
            self.changed_users.append(
                {
                    "user_id": user_id,
                    "name": item["name"],
                    "email": item["email"],
                    "mobile_number": item["mobile_number"],
                    "emp_id": item["emp_id"],
                    "is_admin": item["is_admin"],
                    "sync_hash": compute_sync_hash(fields),
                    "updated_at": self.now,
                }
            )
        self._assign(user_id, item["apps"])
        self.refresh[user_id] = (self._seq(), item["is_admin"])

    def _flush(self) -> None:
        session = self.session
        repository.insert_users(session, self.new_users)
        repository.update_users(session, self.changed_users)
        repository.insert_assignments(session, self.assignments)
        feed.add_entries_for_new_users(session, self.new_entries)
        self._refresh_entries()
        self.new_users, self.changed_users, self.assignments = [], [], []
        self.new_entries, self.refresh = [], {}

    def _refresh_entries(self) -> None:
        """`feed.refresh_user_entries` for a whole batch of updated users at once.

        Only entries of apps a user is assigned to can change here: an import
        never unassigns, and an entry for an app the user is not assigned to is
        already a removal. Those entries are found by primary key, so the cost
        does not grow with the size of the feed.
        """
        if not self.refresh:
            return
        assigned = repository.assignments_of(self.session, list(self.refresh))
        app_ids = list({app_id for apps in assigned.values() for app_id in apps})
        existing = repository.feed_entries(self.session, app_ids, list(assigned))
        stale: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        rows: list[dict[str, Any]] = []
        for user_id, apps in assigned.items():
            seq, is_admin = self.refresh[user_id]
            for app_id in apps:
                was_removed = existing.get((app_id, user_id))  # None: no entry yet
                # Administrators are visible to no app: only a live entry changes (to a removal).
                if is_admin and was_removed is not False:
                    continue
                if was_removed is not None:
                    stale[app_id].append(user_id)
                entry = {"application_id": app_id, "user_id": user_id}
                rows.append({**entry, "seq": seq, "is_removed": is_admin})
        repository.rewrite_feed_entries(self.session, stale, rows)
