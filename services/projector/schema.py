"""The projector's tables, their Alembic migrations, and the read-model version that decides a rebuild.

Two kinds of change: a revision in services/projector/migrations/versions/ changes the layout and
keeps the rows (a new index, a new column with a default); a new READ_MODEL_VERSION says the rows
would now be folded differently, so a store of another version drops its read models and offsets
and is rebuilt from offset 0 (the log is the source; cascade command ids repeat harmlessly).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from sqlalchemy import BigInteger, Column, Connection, Engine, Index, Integer, MetaData, Table, Text, inspect, select

from services.platform.schema import Migrations, Upgrade, lock, upgrade_to_head, when_reachable
from services.platform.sql import begin, upsert

log = logging.getLogger(__name__)
# Bump when the state kept per subject or the tables change: a store of another version is rebuilt.
READ_MODEL_VERSION = 3  # 3: the register shows how late each paper application or request was entered
SCHEMA_LOCK = 0x70726F6A  # "proj": serialises instances creating, upgrading or rebuilding the tables

METADATA = MetaData()
projector_meta = Table(
    "projector_meta", METADATA, Column("name", Text, primary_key=True), Column("value", Text, nullable=False)
)
projector_offsets = Table(
    "projector_offsets", METADATA,
    Column("topic", Text, primary_key=True), Column("partition_id", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)  # fmt: skip
# consent_id, valid_until: the consent in force and its last day, when it has a term (services.projector.store).
subject_state = Table(
    "subject_state", METADATA,
    Column("subject_id", Text, primary_key=True), Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False), Column("state", Text, nullable=False),
    Column("consent_id", Text), Column("valid_until", Text),
)  # fmt: skip
Index("subject_state_valid_until", subject_state.c.valid_until)
transfer_register = Table(
    "transfer_register", METADATA,
    Column("event_id", Text, primary_key=True),
    *(Column(name, Text, nullable=False) for name in ("subject_id", "recipient", "country", "purpose", "categories")),
    Column("at", Text, nullable=False),
)  # fmt: skip
cascade_outbox = Table(
    "cascade_outbox", METADATA,
    Column("command_id", Text, primary_key=True), Column("subject_id", Text, nullable=False),
    Column("command", Text, nullable=False), Column("sent", Integer, nullable=False),
)  # fmt: skip
# entered_late_by_days: how many days after its paper date the ledger recorded it (None on older events).
subject_requests = Table(
    "subject_requests", METADATA,
    Column("subject_id", Text, primary_key=True), Column("request_id", Text, primary_key=True),
    *(Column(name, Text, nullable=False) for name in ("kind", "received_on", "due_on")),
    Column("entered_late_by_days", Integer), Column("status", Text, nullable=False),
    *(Column(name, Text) for name in ("answered_on", "response_ref", "reason")),
)  # fmt: skip
withdrawal_applications = Table(
    "withdrawal_applications", METADATA,
    Column("subject_id", Text, primary_key=True), Column("event_id", Text, primary_key=True),
    Column("filed_on", Text, nullable=False), Column("effective_on", Text, nullable=False),
    Column("entered_late_by_days", Integer), Column("status", Text, nullable=False),
    *(Column(name, Text) for name in ("outcome_event_id", "reason", "legal_basis")),
)  # fmt: skip
Index("withdrawal_applications_due", withdrawal_applications.c.status, withdrawal_applications.c.effective_on)

# What a rebuild drops (projector_meta stays: it says which version the rebuilt tables are).
READ_MODELS = (
    projector_offsets, subject_state, transfer_register, subject_requests, withdrawal_applications, cascade_outbox,
)  # fmt: skip
MIGRATIONS = Migrations(
    name="projector read model",
    location=Path(__file__).parent / "migrations",
    version_table="alembic_version_projector",
    lock=SCHEMA_LOCK,
)


def prepare(engine: Engine) -> Upgrade:
    """Make the tables, rebuild read models of another version, upgrade to the newest revision: one transaction."""

    def work() -> Upgrade:
        with begin(engine, immediate=True) as connection:
            lock(connection, SCHEMA_LOCK)  # instances starting together: one decides at a time
            note = _drop_another_version(connection)
            upgraded = upgrade_to_head(connection, MIGRATIONS)
            version = {"name": "read_model_version", "value": str(READ_MODEL_VERSION)}
            upsert(connection, projector_meta, [version], update=("value",))
            return replace(upgraded, note=note)

    return when_reachable(work)


def stored_version(connection: Connection) -> int | None:
    """The read-model version the store holds: None if fresh, 1 if made before versions were recorded."""
    found = inspect(connection)
    if found.has_table(projector_meta.name):
        value = connection.execute(
            select(projector_meta.c.value).where(projector_meta.c.name == "read_model_version")
        ).scalar_one_or_none()
        if value is not None:
            return int(value)
    return 1 if found.has_table(subject_state.name) else None


def _drop_another_version(connection: Connection) -> str:
    """Drop the read models, their offsets and the revision they were at if they are of another version."""
    found = stored_version(connection)
    if found is None or found == READ_MODEL_VERSION:
        return ""
    log.warning("read models of version %s found: rebuilding version %s from offset 0", found, READ_MODEL_VERSION)
    for table in READ_MODELS:
        table.drop(connection, checkfirst=True)
    Table(MIGRATIONS.version_table, MetaData()).drop(connection, checkfirst=True)  # upgrade again from nothing
    return f" (read models of version {found} dropped: rebuilding version {READ_MODEL_VERSION} from offset 0)"
