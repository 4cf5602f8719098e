"""One active relay per event store: a PostgreSQL advisory lock, or a file lock beside a SQLite store."""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path
from typing import IO, Protocol

import psycopg

from services.ledger.adapters.store import sqlite_path
from services.platform.database import CONNECT_TIMEOUT_S
from services.platform.settings import store_kind


class Leadership(Protocol):
    """A lock only one process holds at a time; released when the holder stops or dies."""

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class PostgresLeadership:
    """pg_try_advisory_lock on a connection held while leading; the lock goes with the session."""

    def __init__(self, conninfo: str, name: str) -> None:
        self.conninfo = conninfo
        self.key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def try_acquire(self) -> bool:
        """True if this process now leads."""
        try:
            if self._connection is None:
                self._connection = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error:
            self.release()  # a session lost to a database restart: the next try opens a new one
            raise
        return bool(row and row[0])

    def release(self) -> None:
        """Give up leading (closing the session releases the lock)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class FileLeadership:
    """An exclusive flock on a file beside the SQLite store; the kernel drops it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        """True if this process now leads."""
        self._file = self._file or self.path.open("ab")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        """Give up leading."""
        if self._file is not None:
            self._file.close()
            self._file = None


def leadership_for(store_url: str, name: str = "consent-ledger-relay") -> Leadership:
    """The lock that elects one relay for the event store at `store_url`."""
    if store_kind(store_url) == "sqlite":
        return FileLeadership(Path(sqlite_path(store_url) + ".relay.lock"))
    return PostgresLeadership(store_url, name)
