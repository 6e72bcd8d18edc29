"""SQLAlchemy engine and session factories, and the per-request unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


def _json_dumps(value: Any) -> str:
    # orjson: JSON columns (audit details, settings) are written on hot paths.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_db_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """An engine for MySQL/MariaDB (pymysql, utf8mb4, pre-ping) or SQLite.

    `hide_parameters`: an error's text names the statement but not its values, so
    a failed INSERT logged or retried never spells out an email address, a mobile
    number or a password hash.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=_json_dumps,
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if url.startswith("mysql") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        isolation_level="READ COMMITTED",
        json_serializer=_json_dumps,
        hide_parameters=True,
    )


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits when the block ends, and rolls back on error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the handler returns, roll back on error.

    Used with scope="function" so the commit happens before the response is
    sent: a client never sees a 2xx for a write that then fails to commit.
    """
    with transaction(request.app.state.session_factory) as session:
        yield session


async def in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """`work` in a `get_db` transaction, committed, in one trip to the threadpool.

    For `async def` hot paths: a sync handler with `DbSession` costs three trips
    (the dependency's start, the handler, the dependency's end) and a fourth to
    check the response; the answer is still sent only after the commit.
    """

    def run() -> T:
        with transaction(factory) as session:
            return work(session)

    return await run_in_threadpool(run)


DbSession = Annotated[Session, Depends(get_db, scope="function")]
