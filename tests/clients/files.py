"""An application's local copy of its users, kept in files (so a process killed mid-walk
leaves exactly what it had written), and the cursor beside it.

`python -m tests.clients.files <base_url> <api_key> <dir> <page_size> <pause>` walks the
sync there, slowly (`pause` seconds after each upsert), for a test to kill it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from identity_client import IdentityClient, SyncState, SyncWalker, User


def _write(path: Path, data: object) -> None:
    # Written whole, then renamed: a kill leaves the old file or the new, never half.
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


class FileTarget:
    def __init__(self, directory: Path, pause: float = 0.0) -> None:
        self.users_file = directory / "users.json"
        self.log_file = directory / "applied.log"
        self.users: dict[str, dict[str, str | None]] = (
            json.loads(self.users_file.read_text()) if self.users_file.exists() else {}
        )
        self.pause = pause

    def stored_hash(self, auth_user_id: str) -> str | None:
        entry = self.users.get(auth_user_id)
        return entry["sync_hash"] if entry else None

    def _applied(self, line: str) -> None:
        with self.log_file.open("a") as log:
            log.write(line + "\n")

    def upsert(self, user: User) -> None:
        self.users[user.auth_user_id] = {
            "name": user.name,
            "email": user.email,
            "status": user.status,
            "sync_hash": user.sync_hash,
        }
        _write(self.users_file, self.users)
        self._applied(f"upsert {user.auth_user_id} {user.sync_hash}")
        time.sleep(self.pause)

    def remove(self, auth_user_id: str) -> None:
        self.users.pop(auth_user_id, None)
        _write(self.users_file, self.users)
        self._applied(f"remove {auth_user_id}")

    def applied(self) -> list[str]:
        return self.log_file.read_text().splitlines() if self.log_file.exists() else []


class FileCursor:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "cursor.json"

    def load(self) -> SyncState:
        if not self.path.exists():
            return SyncState()
        return SyncState(**json.loads(self.path.read_text()))

    def save(self, state: SyncState) -> None:
        _write(self.path, {"cursor": state.cursor, "etag": state.etag})


if __name__ == "__main__":
    base_url, api_key, directory, page_size, pause = sys.argv[1:6]
    folder = Path(directory)
    with IdentityClient(base_url, api_key) as client:
        SyncWalker(
            client, FileTarget(folder, float(pause)), FileCursor(folder), page_size=int(page_size)
        ).run()
