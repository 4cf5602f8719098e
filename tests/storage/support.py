"""What the storage tests read straight from a database: its revision and whether its tables match the code's."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData

from services.platform.schema import Migrations, current
from services.platform.sql import engine_for


def revision(url: str, migrations: Migrations) -> str | None:
    """The revision recorded in `migrations`' version table of the database at `url`."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            return current(connection, migrations)
    finally:
        engine.dispose()


def differences(url: str, metadata: MetaData, migrations: Migrations) -> list[Any]:
    """What Alembic's autogenerate finds between the tables in `metadata` and those the migrations made."""
    engine = engine_for(url)
    ours = set(metadata.tables)
    options = {
        "version_table": migrations.version_table,
        "compare_type": True,
        "include_name": lambda name, kind, _parent: kind != "table" or name in ours,
    }
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection, opts=options), metadata))
    finally:
        engine.dispose()
