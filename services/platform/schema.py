"""Alembic migrations of our own tables, run from code: no alembic.ini, the scripts ship inside the package.

Each environment (the ledger's side tables, the projector's read model) has its folder (env.py,
script.py.mako, versions/), its own version table, so both may share one PostgreSQL database, and an
advisory lock that serialises processes upgrading at once. An upgrade runs inside the caller's
transaction: on PostgreSQL (and on SQLite, whose transactions we begin) it commits whole or not at all.
eventsourcing's own tables are the library's: no migration here touches them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, func, select

from services.platform.database import StoreUnavailableError

T = TypeVar("T")
START_WAIT_S = 30.0  # a store opened while its database is still starting waits this long for it
_ALEMBIC = threading.Lock()  # alembic's `context` is one per process: one upgrade at a time


@dataclass(frozen=True)
class Migrations:
    """One Alembic environment: where its scripts are, its version table, the lock serialising upgrades."""

    name: str
    location: Path
    version_table: str
    lock: int

    def config(self, connection: Connection | None = None) -> Config:
        """Alembic's configuration, built in code; `connection` is the one env.py migrates."""
        config = Config()
        config.set_main_option("script_location", str(self.location))
        config.set_main_option("version_table", self.version_table)
        config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")  # module names may not start with a digit
        config.attributes["connection"] = connection
        return config

    def head(self) -> str | None:
        """The newest revision of the scripts."""
        return ScriptDirectory.from_config(self.config()).get_current_head()


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: the revision the database was at before (None: none) and after."""

    name: str
    before: str | None
    after: str | None
    note: str = ""

    def __str__(self) -> str:
        done = f"already at {self.after}" if self.before == self.after else f"{self.before or 'none'} -> {self.after}"
        return f"{self.name}: {done}{self.note}"


def lock(connection: Connection, key: int) -> None:
    """On PostgreSQL, wait for the transaction-scoped advisory lock `key` (SQLite: BEGIN IMMEDIATE serialises)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(key)))


def current(connection: Connection, migrations: Migrations) -> str | None:
    """The revision the database is at, None if it has none (fresh, or written before Alembic)."""
    context = MigrationContext.configure(connection, opts={"version_table": migrations.version_table})
    return context.get_current_revision()


def upgrade_to_head(connection: Connection, migrations: Migrations) -> Upgrade:
    """Upgrade to the newest revision inside the connection's transaction, holding the environment's lock."""
    lock(connection, migrations.lock)
    before = current(connection, migrations)
    with _ALEMBIC:
        command.upgrade(migrations.config(connection), "head")
    return Upgrade(migrations.name, before, current(connection, migrations))


def run_env(metadata: MetaData) -> None:
    """The body of an env.py: migrate the connection the caller passed (see Migrations.config)."""
    from alembic import context  # noqa: PLC0415 - alembic's proxy exists only while a command runs

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through services.migrations (consent-ledger migrate)")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=context.config.get_main_option("version_table") or "alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()


def when_reachable(work: Callable[[], T], timeout_s: float = START_WAIT_S) -> T:
    """`work()`, tried again while the database is away, for `timeout_s` seconds at most."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return work()
        except StoreUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def new_revision(migrations: Migrations, message: str) -> Path:
    """Write an empty next revision (v0002_<message>.py, ...) for a developer to fill in; returns its file."""
    number = int(migrations.head() or "0") + 1
    with _ALEMBIC:
        script = command.revision(migrations.config(), message=message, rev_id=f"{number:04d}")
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)
