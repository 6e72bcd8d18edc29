"""Keeping the application's copy of its users: `/users/sync` walked and applied.

The walk follows the delta cursor page by page and asks the application to
`upsert` only users whose `sync_hash` differs from the stored one, and to
`remove` users the service says are gone (unassigned, deleted, made
administrators). The cursor is stored after every page, through the
application's `CursorStore`, once the page's changes were applied. A walk
killed at any point resumes from the last stored cursor: the page it was
applying comes again, and what it had applied already is skipped by its
hash (upserts) or by its absence (removals), so no change is skipped and
none is applied twice. When a delta brings nothing, its ETag is kept, and
the next run gets a `304` instead of a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from identity_client.models import SyncPage, User

if TYPE_CHECKING:
    from identity_client.aio import AsyncIdentityClient
    from identity_client.client import IdentityClient


class SyncTarget(Protocol):
    """The application's side: its local copy of the users."""

    def stored_hash(self, auth_user_id: str) -> str | None:
        """The `sync_hash` stored for this user, or None if the application has none."""
        ...

    def upsert(self, user: User) -> None: ...

    def remove(self, auth_user_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SyncState:
    cursor: str | None = None
    etag: str | None = None  # of the last delta, when it brought nothing (304 next time)


class CursorStore(Protocol):
    """Where the application keeps the walk's position (a row, a file, a key)."""

    def load(self) -> SyncState: ...

    def save(self, state: SyncState) -> None: ...


@dataclass
class SyncReport:
    pages: int = 0
    upserted: int = 0
    unchanged: int = 0
    removed: int = 0
    not_modified: bool = False
    cursor: str | None = None


def apply_page(page: SyncPage, target: SyncTarget, report: SyncReport) -> None:
    """One page's changes, each applied only if it changes something."""
    for raw in page.raw_users:
        if target.stored_hash(raw["auth_user_id"]) == raw["sync_hash"]:
            report.unchanged += 1
            continue
        target.upsert(User.from_json(raw))
        report.upserted += 1
    for auth_user_id in page.removed:
        if target.stored_hash(auth_user_id) is None:
            continue  # never had them, or removed them before a crash
        target.remove(auth_user_id)
        report.removed += 1
    report.pages += 1


def _state_after(page: SyncPage, since: str | None) -> SyncState:
    # The ETag is worth keeping only for the request the next run will make again.
    quiet = not page.has_more and page.next_cursor == since and not page.raw_users
    return SyncState(page.next_cursor, page.etag if quiet and not page.removed else None)


class SyncWalker:
    def __init__(
        self,
        client: IdentityClient,
        target: SyncTarget,
        store: CursorStore,
        *,
        page_size: int | None = None,
    ) -> None:
        self.client, self.target, self.store, self.page_size = client, target, store, page_size

    def run(self) -> SyncReport:
        """Walk until the service has nothing more; returns what was done."""
        state = self.store.load()
        since, etag = state.cursor, state.etag
        report = SyncReport(cursor=since)
        while True:
            page = self.client.sync_page(since, limit=self.page_size, etag=etag)
            if page.not_modified:
                report.not_modified = True
                return report
            apply_page(page, self.target, report)
            self.store.save(_state_after(page, since))
            since, etag, report.cursor = page.next_cursor, None, page.next_cursor
            if not page.has_more:
                return report


class AsyncSyncWalker:
    """`SyncWalker` for `AsyncIdentityClient` (the target and store stay synchronous)."""

    def __init__(
        self,
        client: AsyncIdentityClient,
        target: SyncTarget,
        store: CursorStore,
        *,
        page_size: int | None = None,
    ) -> None:
        self.client, self.target, self.store, self.page_size = client, target, store, page_size

    async def run(self) -> SyncReport:
        state = self.store.load()
        since, etag = state.cursor, state.etag
        report = SyncReport(cursor=since)
        while True:
            page = await self.client.sync_page(since, limit=self.page_size, etag=etag)
            if page.not_modified:
                report.not_modified = True
                return report
            apply_page(page, self.target, report)
            self.store.save(_state_after(page, since))
            since, etag, report.cursor = page.next_cursor, None, page.next_cursor
            if not page.has_more:
                return report
