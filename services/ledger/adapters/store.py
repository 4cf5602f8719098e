"""From a store URL (sqlite:///path or postgresql://...) to the event store's and key store's settings.

The event store's recorders are the ledger's own (services.ledger.adapters.recorders): they write each
command's outcome to `ledger_commands` in the events' transaction.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import get_topic

from services.ledger.adapters.pii.keys import KeyStore, MasterKey, PostgresKeyStore, SqliteKeyStore
from services.ledger.adapters.recorders import PostgresCommandRecorder, SqliteCommandRecorder
from services.platform import database
from services.platform.settings import store_kind

# What "the database is away right now" looks like from the ledger's stores: worth waiting for, never a record's fault.
STORE_AWAY: tuple[type[Exception], ...] = (
    database.StoreUnavailableError,
    *database.UNAVAILABLE,
    OperationalError,  # the event store's words for the same
    InterfaceError,
)

# A writer waits this long for the events table's lock, and for a pooled connection; eventsourcing
# tries 10 times, so a writer behind a stalled lock holder, or a database that is away, is answered
# 503 after about 12 s instead of never (and one that comes back within that time is just late).
EVENTS_LOCK_TIMEOUT_S = 1
EVENTS_POOL_WAIT_S = 1


class GuardedPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL store whose sessions carry the statement and lock timeouts of every store here.

    So a stalled writer cannot hold the events table's lock for long, and writers queued behind it
    give up after the lock timeout (503) instead of waiting for ever.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        connect = self.datastore.pool.kwargs
        assert isinstance(connect, dict)  # noqa: S101 - eventsourcing passes a dict
        connect.update(connect_timeout=database.CONNECT_TIMEOUT_S, options=database.SESSION_OPTIONS)


def eventsourcing_env(url: str) -> dict[str, str]:
    """The eventsourcing Application environment for the event store at `url`."""
    if store_kind(url) == "sqlite":
        path = sqlite_path(url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": get_topic(SqliteCommandRecorder),
        }
    parts = urlsplit(url)
    return {
        "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_PRE_PING": "y",  # a connection broken by a database restart is replaced, not lent
        "POSTGRES_CONNECT_TIMEOUT": str(EVENTS_POOL_WAIT_S),  # eventsourcing's name for the pool's wait
        "POSTGRES_LOCK_TIMEOUT": str(EVENTS_LOCK_TIMEOUT_S),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(database.IDLE_IN_TRANSACTION_MS // 1000),
        "PERSISTENCE_MODULE": f"{__name__}:{GuardedPostgresFactory.__qualname__}",
        "APPLICATION_RECORDER_TOPIC": get_topic(PostgresCommandRecorder),
    }


def sqlite_path(url: str) -> str:
    """The file of a sqlite:///relative/or//absolute URL; its folder is created when missing."""
    return str(database.sqlite_file(url))


def key_store(url: str, master: MasterKey) -> KeyStore:
    """The per-subject key store beside the event store at `url` (same database, own table)."""
    if store_kind(url) == "sqlite":
        return SqliteKeyStore(sqlite_path(url), master)
    return PostgresKeyStore(database.libpq_url(url), master)
