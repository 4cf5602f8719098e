"""The ledger's side tables beside the event store (form texts, subject keys, commands' outcomes), and their migrations.

The tables are declared here for the queries; their layout is made by the Alembic revisions in
services/ledger/adapters/migrations/versions/, which every store runs to head when it opens (and
`consent-ledger migrate` runs on demand). eventsourcing's own tables stay the library's.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import CheckConstraint, Column, Engine, LargeBinary, MetaData, Table, Text

from services.platform.schema import Migrations, Upgrade, upgrade_to_head, when_reachable
from services.platform.sql import Moment, begin

METADATA = MetaData()

consent_forms = Table(
    "consent_forms",
    METADATA,
    Column("text_sha256", Text, primary_key=True),
    Column("form_id", Text, nullable=False),
    Column("form_version", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("registered_at", Text, nullable=False),
)

# wrapped_key NULL and destroyed_at set: the subject was erased (a tombstone), for good.
subject_keys = Table(
    "subject_keys",
    METADATA,
    Column("subject_id", Text, primary_key=True),
    Column("key_id", Text, nullable=False),
    Column("wrapped_key", LargeBinary),
    Column("created_at", Moment, nullable=False),
    Column("destroyed_at", Moment),
    CheckConstraint("(wrapped_key IS NULL) = (destroyed_at IS NOT NULL)"),
)

# One row per command id and subject that recorded events: written with the events, in their
# transaction, by services.ledger.adapters.recorders; idempotency reads it.
ledger_commands = Table(
    "ledger_commands",
    METADATA,
    Column("command_id", Text, primary_key=True),
    Column("subject_id", Text, primary_key=True),
    Column("digest", Text),
    Column("event_ids", Text, nullable=False),  # the ids of the events it recorded, in order, separated by spaces
)

MIGRATIONS = Migrations(
    name="ledger side tables",
    location=Path(__file__).parent / "migrations",
    version_table="alembic_version_ledger",
    lock=0x7375626A6B657973,  # "subjkeys" in ASCII: serialises ledger instances upgrading at once
)


def migrate(engine: Engine) -> Upgrade:
    """Upgrade the ledger's side tables to the newest revision (waiting for a database still starting)."""

    def upgrade() -> Upgrade:
        with begin(engine, immediate=True) as connection:
            return upgrade_to_head(connection, MIGRATIONS)

    return when_reachable(upgrade)
