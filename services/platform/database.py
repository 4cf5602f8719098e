"""What every store beside the event store shares: its session timeouts, what "away" looks like, its URLs.

Every PostgreSQL session gets a statement timeout, a lock timeout and an idle-in-transaction
timeout, so no session can hold a lock for long or wait behind one for ever. The engines that use
them (SQLAlchemy, one per store) are made in `services.platform.sql`. While the database cannot be
reached, work raises StoreUnavailableError, which the HTTP APIs answer with 503 and Retry-After.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

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
