"""Writing one sync page as JSON while reading it, so memory stays flat.

The rows come from a server-side cursor on a session of the generator's own
(the request's session has committed and closed before the body is sent).
Rows are serialised one by one with orjson and sent in chunks of a few
hundred, so a page of 10,000 users never sits in memory as objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Executable
from sqlalchemy.orm import Session, sessionmaker

from directory.sync import repository
from directory.sync.service import SyncPlan

ROWS_PER_CHUNK = 500
# updated_at arrives as naive UTC (see repository.USER_COLUMNS).
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _user_id(raw: str) -> str:
    """The canonical text form: MariaDB's native UUID already is; CHAR(32) hex is not."""
    return raw if len(raw) == 36 else str(uuid.UUID(hex=raw))


def _user_json(row: Sequence[Any]) -> bytes:
    user_id, name, mobile_number, email, emp_id, status, updated_at, sync_hash = row
    return orjson.dumps(
        {
            "auth_user_id": _user_id(user_id),
            "name": name,
            "mobile_number": mobile_number,
            "email": email,
            "emp_id": emp_id,
            "status": status,
            "updated_at": updated_at,
            "sync_hash": sync_hash,
        },
        option=_OPTIONS,
    )


def _json_array_items(
    session: Session,
    statement: Executable,
    encode: Callable[[Sequence[Any]], bytes],
    counts: dict[str, int],
    key: str,
) -> Iterator[bytes]:
    """`item,item,...` in chunks; `counts[key]` ends as the number of items written."""
    # Core execution on the session's connection: these are plain rows, and the
    # ORM result layer adds about a third to the cost of each one.
    result = session.connection().execute(
        statement, execution_options={"yield_per": ROWS_PER_CHUNK}
    )
    written = 0
    try:
        for rows in result.partitions():
            chunk = b",".join(encode(row) for row in rows)
            yield (b"," + chunk) if written else chunk
            written += len(rows)
    finally:
        # A client that hangs up mid-page leaves rows unread on the server-side
        # cursor; closing drains them before the connection goes back to the pool.
        result.close()
    counts[key] = written


def page_body(
    session_factory: sessionmaker[Session], plan: SyncPlan, counts: dict[str, int]
) -> Iterator[bytes]:
    """The whole response body; fills `counts` (users, removed) once written, for the audit."""
    app, after = plan.app, plan.query.after
    head = orjson.dumps({"id": str(app.id), "name": app.name})
    yield b'{"application":' + head + b',"users":['
    with session_factory() as session:
        yield from _json_array_items(
            session, repository.live_users(app.id, after, plan.upto), _user_json, counts, "users"
        )
        yield b'],"removed":['
        if plan.query.since is not None:
            yield from _json_array_items(
                session,
                repository.removed_users(app.id, after, plan.upto),
                _removed_json,
                counts,
                "removed",
            )
    tail = {"next_cursor": plan.next_cursor, "has_more": plan.has_more}
    yield b"]," + orjson.dumps(tail)[1:]


def _removed_json(row: Sequence[Any]) -> bytes:
    return b'"' + _user_id(row[0]).encode() + b'"'
