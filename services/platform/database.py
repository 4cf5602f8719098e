"""SQL beside the event store: one checked connection pool per PostgreSQL URL, one shared connection per SQLite file.

Every PostgreSQL session gets a statement timeout, a lock timeout and an idle-in-transaction
timeout, so no session can hold a lock for long or wait behind one for ever. A pooled connection is
checked before it is lent, so after a database restart the next use reconnects instead of failing.
While the database cannot be reached, work raises StoreUnavailableError, which the HTTP APIs answer
with 503 and Retry-After.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from services.platform.settings import store_kind

STATEMENT_TIMEOUT_MS = 15_000  # no statement of ours runs this long; a stuck one is cancelled
LOCK_TIMEOUT_MS = 5_000  # waiting longer for a lock means something is wrong: give up, answer 503
IDLE_IN_TRANSACTION_MS = 5_000  # a client that stalls inside a transaction loses it (and its locks)
CONNECT_TIMEOUT_S = 5
POOL_WAIT_S = 5.0  # how long a caller waits for a pooled connection before it is told 503
SESSION_OPTIONS = (
    f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS} "
    f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"
)
# What "the database is away right now" looks like (a restart, a timeout, a full pool); worth a retry.
UNAVAILABLE: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError)


class StoreUnavailableError(Exception):
    """The database cannot be reached right now (restarting, overloaded); the same request may succeed later."""


def libpq_url(url: str) -> str:
    """A store URL in the form libpq reads (without SQLAlchemy's +psycopg driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def sqlite_file(url: str) -> Path:
    """The file of a sqlite:///relative/or//absolute URL; its folder is created when missing."""
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def postgres_pool(url: str, *, max_size: int = 4) -> ConnectionPool:
    """An open pool of autocommit connections with the session timeouts, each checked before it is lent."""
    pool = ConnectionPool(
        libpq_url(url),
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S, "options": SESSION_OPTIONS},
        check=ConnectionPool.check_connection,
        timeout=POOL_WAIT_S,
        reconnect_timeout=0,  # keep trying to refill the pool however long the database is away
        open=False,
    )
    try:
        pool.open(wait=True, timeout=30.0)
    except BaseException:
        pool.close()
        raise
    return pool


class Database:
    """A PostgreSQL or SQLite database, used through DB-API cursors with %s placeholders in either dialect."""

    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        self.kind = store_kind(url)
        self._lock = threading.Lock()  # SQLite: one connection, one user at a time
        self._pool: ConnectionPool | None = None
        self._sqlite: sqlite3.Connection | None = None
        if self.kind == "postgresql":
            self._pool = postgres_pool(url, max_size=max_connections)
        else:
            self._sqlite = sqlite3.connect(
                sqlite_file(url), timeout=10.0, isolation_level=None, check_same_thread=False
            )
            self._sqlite.execute("PRAGMA journal_mode=WAL")

    def sql(self, query: str) -> str:
        """`query` in this database's dialect: SQLite takes ? where PostgreSQL takes %s."""
        return query if self.kind == "postgresql" else query.replace("%s", "?")

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction: committed when the block ends, rolled back if it raises."""
        with self._connection() as connection:
            cursor = connection.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on its own (autocommit) and return its rows, if any."""
        with self._connection() as connection:
            cursor = connection.execute(self.sql(query), params)
            return list(cursor.fetchall()) if cursor.description else []

    def close(self) -> None:
        """Close every connection."""
        if self._pool is not None:
            self._pool.close()
        if self._sqlite is not None:
            with self._lock:
                self._sqlite.close()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._sqlite is not None:
            with self._lock:
                try:
                    yield self._sqlite
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) and "busy" not in str(error):
                        raise
                    raise StoreUnavailableError(f"the SQLite store is busy: {error}") from error
            return
        assert self._pool is not None  # noqa: S101 - one of the two is always set
        try:
            with self._pool.connection() as connection:
                yield connection
        except UNAVAILABLE as error:
            raise StoreUnavailableError(f"PostgreSQL is not available: {type(error).__name__}") from error


def reachable(url: str, timeout_s: int = 2) -> bool:
    """Whether the database at `url` answers a trivial query within about `timeout_s` seconds (a fresh connection)."""
    try:
        if store_kind(url) == "sqlite":
            with sqlite3.connect(sqlite_file(url), timeout=timeout_s) as probe:
                probe.execute("SELECT 1")
        else:
            options = f"-c statement_timeout={timeout_s * 1000}"
            with psycopg.connect(libpq_url(url), connect_timeout=timeout_s, options=options) as probe:
                probe.execute("SELECT 1")
    except sqlite3.Error:
        return False
    except UNAVAILABLE:
        return False
    return True
