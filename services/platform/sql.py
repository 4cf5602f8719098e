"""SQL beside the event store, through SQLAlchemy Core: one engine per store, the same statements on both backends.

PostgreSQL: a pool of at most `max_connections` whose connections are pinged before they are lent
(after a database restart the next use reconnects instead of failing), and whose sessions carry the
statement, lock and idle-in-transaction timeouts of `services.platform.database`. SQLite: one
connection per store, lent to one thread at a time (SQLite serialises writers anyway), with a busy
timeout and transactions begun by us, so DDL is transactional too. Work that meets a database that
is away (a restart, a timeout, a full pool, a busy SQLite file) raises StoreUnavailableError, which
the HTTP APIs answer with 503 and Retry-After.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import URL, Connection, Dialect, Engine, Table, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.types import DateTime, Text, TypeDecorator, TypeEngine

from services.platform.database import (
    CONNECT_TIMEOUT_S,
    POOL_WAIT_S,
    SESSION_OPTIONS,
    StoreUnavailableError,
    sqlite_file,
)
from services.platform.settings import store_kind

SQLITE_BUSY_S = 10.0  # how long a statement waits for another process's write lock on the file
SQLITE_WAIT_S = 30.0  # how long a thread waits for the store's one SQLite connection before it is told 503
WAL = ("journal_mode=WAL",)
_IMMEDIATE = "consent_begin_immediate"  # execution option: SQLite takes the write lock at BEGIN


def sqlalchemy_url(target: str) -> URL:
    """The SQLAlchemy URL of a store URL (sqlite:///..., postgresql://...) or a libpq key=value string."""
    if "://" not in target:  # libpq's keyword form, e.g. "host=127.0.0.1 port=5432 dbname=ledger"
        params = {name: str(value) for name, value in conninfo_to_dict(target).items()}
        port = params.pop("port", None)
        return URL.create(
            "postgresql+psycopg",
            username=params.pop("user", None),
            password=params.pop("password", None),
            host=params.pop("host", None),
            port=int(port) if port else None,
            database=params.pop("dbname", None),
            query=params,
        )
    if store_kind(target) == "sqlite":
        return make_url(f"sqlite:///{sqlite_file(target)}")
    return make_url(target).set(drivername="postgresql+psycopg")


def engine_for(
    target: str, *, max_connections: int = 4, pragmas: Sequence[str] = WAL, busy_timeout_s: float = SQLITE_BUSY_S
) -> Engine:
    """A new engine for the store at `target`, disposed of by its owner; `pragmas`: set on each SQLite connection."""
    url = sqlalchemy_url(target)
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_size=max_connections,
            max_overflow=0,
            pool_timeout=POOL_WAIT_S,
            pool_pre_ping=True,  # a connection cut by a restart is replaced before it is lent
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "options": SESSION_OPTIONS},
        )
    engine = create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=SQLITE_WAIT_S,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit transactions: "begin" below says BEGIN
        for pragma in pragmas:
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def begin(engine: Engine, *, immediate: bool = False) -> Iterator[Connection]:
    """A connection inside one transaction: committed when the block ends, rolled back if it raises.

    `immediate`: on SQLite, take the file's write lock at the start (waiting up to the busy timeout)
    rather than at the first write, which fails at once if another connection wrote in between.
    """
    try:
        with engine.connect() as connection:
            if immediate:
                connection.execution_options(**{_IMMEDIATE: True})
            with connection.begin():
                yield connection
    except (OperationalError, InterfaceError, PoolTimeoutError) as error:
        if not _away(engine, error):
            raise
        raise StoreUnavailableError(f"the {engine.dialect.name} store is not available: {_reason(error)}") from error


def _away(engine: Engine, error: Exception) -> bool:
    """Whether `error` says the database is away or busy (worth a retry), not that a statement is wrong."""
    if engine.dialect.name == "postgresql" or isinstance(error, PoolTimeoutError):
        return True
    return any(word in str(error) for word in ("locked", "busy"))


def _reason(error: Exception) -> str:
    """The type of the driver's error (never its text, which may quote a statement's parameters)."""
    original = getattr(error, "orig", None)
    return type(original if original is not None else error).__name__


def upsert(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, update: Sequence[str] = ()
) -> int:
    """Insert `rows`; on a duplicate primary key set the `update` columns from the new row, or keep the old row.

    Returns the number of rows written when one row is given (0: it was there already), as the driver counts.
    """
    if not rows:
        return 0
    keys = [column.name for column in table.primary_key.columns]
    if connection.dialect.name == "postgresql":
        pg = postgresql.insert(table)
        statement: Any = (
            pg.on_conflict_do_update(index_elements=keys, set_={name: pg.excluded[name] for name in update})
            if update
            else pg.on_conflict_do_nothing(index_elements=keys)
        )
    else:
        lite = sqlite.insert(table)
        statement = (
            lite.on_conflict_do_update(index_elements=keys, set_={name: lite.excluded[name] for name in update})
            if update
            else lite.on_conflict_do_nothing(index_elements=keys)
        )
    result = connection.execute(statement, list(rows) if len(rows) > 1 else dict(rows[0]))
    return int(result.rowcount)


class Moment(TypeDecorator[datetime]):
    """A moment with its offset: TIMESTAMPTZ on PostgreSQL, ISO 8601 text on SQLite (as stored before SQLAlchemy)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Text on SQLite, a timestamp with time zone elsewhere."""
        return dialect.type_descriptor(Text() if dialect.name == "sqlite" else DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """ISO 8601 text for SQLite; the datetime itself for PostgreSQL."""
        return value.isoformat() if value is not None and dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """A datetime, whichever the backend."""
        return datetime.fromisoformat(value) if isinstance(value, str) else value
