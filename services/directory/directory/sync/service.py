"""Planning one page of `GET /users/sync`: cursor, limit, ETag and the page's seq bounds.

Cursors are opaque to applications: base64url of `v1:<seq>`. A page covers
the feed entries with `after < seq <= upto`; the body is streamed by
`directory.sync.stream` from those bounds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from directory.sync import repository
from shared.errors import BadRequest, Unprocessable
from shared.pipeline import AppSnapshot
from shared.settings import Settings

_CURSOR = re.compile(r"v1:(\d{1,18})")
_CURSOR_MAX_CHARS = 40


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    message = "The sync cursor is not valid; start again without `since`."


@dataclass(frozen=True)
class SyncQuery:
    since: int | None  # None: the full set
    limit: int

    @property
    def after(self) -> int:
        return self.since or 0


@dataclass(frozen=True)
class FeedVersion:
    max_seq: int
    etag: str


@dataclass(frozen=True)
class SyncPlan:
    app: AppSnapshot
    query: SyncQuery
    upto: int
    has_more: bool
    next_cursor: str


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    if len(cursor) > _CURSOR_MAX_CHARS:
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        match = _CURSOR.fullmatch(raw.decode("ascii"))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    if match is None or encode_cursor(int(match.group(1))) != cursor:
        raise InvalidCursor()
    return int(match.group(1))


def parse_query(since: str | None, limit: int | None, settings: Settings) -> SyncQuery:
    """Validate the query string; an empty `since` means no cursor yet (the full set)."""
    if limit is None:
        limit = min(settings.sync_default_limit, settings.sync_max_limit)
    if limit > settings.sync_max_limit:
        raise Unprocessable(f"limit: must be at most {settings.sync_max_limit}", field="limit")
    return SyncQuery(since=decode_cursor(since) if since else None, limit=limit)


def feed_version(session: Session, app: AppSnapshot, query: SyncQuery) -> FeedVersion:
    """The app's newest seq and the ETag of the page it determines.

    Read before the page: a page never goes past this seq (see `plan_page`),
    and every change to what an app sees allocates a higher seq, so the same
    (app, max seq, since, limit) always yields the same page. (`updated_at`
    alone can move without a new seq, on a password change: the hash, which
    is what apps compare, cannot.)
    """
    top = repository.max_seq(session, app.id)
    since = "full" if query.since is None else str(query.since)
    version = f"{app.id}|{app.name}|{top}|{since}|{query.limit}"
    return FeedVersion(top, '"' + hashlib.sha256(version.encode()).hexdigest()[:32] + '"')


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def plan_page(
    session: Session, app: AppSnapshot, query: SyncQuery, version: FeedVersion
) -> SyncPlan:
    """Fix the seq range of this page and the cursor that follows it.

    The range stops at `version.max_seq`, read before any page query. The
    counter row lock (`feed.allocate_seqs`) makes seq order commit order, so
    every entry at or below that seq had committed when it was read; an entry
    changed later gets a higher seq and shows in the next delta. So a cursor
    at that seq misses nothing, even when the last entries were skipped
    removals (full mode) and even while writers are busy.
    """
    end = repository.page_end(
        session,
        app.id,
        query.after,
        version.max_seq,
        query.limit,
        live_only=query.since is None,
    )
    upto = version.max_seq if end is None else end - 1
    # max(): a cursor never moves backwards, even one ahead of this app's feed.
    next_seq = max(query.after, upto)
    return SyncPlan(app, query, upto, end is not None, encode_cursor(next_seq))
