"""ledger_commands: each command's outcome (digest, event ids) per subject, filled from the events already stored.

Idempotency is answered from this table instead of from every past command held by the loaded
subject. A store written before has its commands only inside its events: they are read here once,
subject by subject in version order, and each command id's events and (last) digest become its row,
as the subject used to fold them. The events table is eventsourcing's: `ledger_events` on
PostgreSQL (the application is named Ledger), `stored_events` on SQLite; when it does not exist
yet (a new store) there is nothing to fill.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid5

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# As services.ledger.domain.events.event_id_of derives them (a revision keeps its own copy).
EVENT_ID_NAMESPACE = uuid5(UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), "urn:kz.esperance.consent:event")
EVENTS_TABLE = {"postgresql": "ledger_events", "sqlite": "stored_events"}
CHUNK = 1_000


def upgrade() -> None:
    """Create ledger_commands and fill it from the stored events."""
    op.create_table(
        "ledger_commands",
        sa.Column("command_id", sa.Text(), primary_key=True),
        sa.Column("subject_id", sa.Text(), primary_key=True),
        sa.Column("digest", sa.Text()),
        sa.Column("event_ids", sa.Text(), nullable=False),
    )
    bind = op.get_bind()
    events = EVENTS_TABLE.get(bind.dialect.name)
    if events is None or events not in sa.inspect(bind).get_table_names():
        return
    table = sa.table("ledger_commands", *(sa.column(c) for c in ("command_id", "subject_id", "digest", "event_ids")))
    batch: list[dict[str, Any]] = []
    for row in _commands(bind, events):
        batch.append(row)
        if len(batch) >= CHUNK:
            op.bulk_insert(table, batch)
            batch = []
    if batch:
        op.bulk_insert(table, batch)


def _commands(bind: sa.Connection, events: str) -> Iterator[dict[str, Any]]:
    """Every (command id, subject)'s row, from the events in subject and version order."""
    columns = "originator_id, originator_version, state"
    select = sa.text(f"SELECT {columns} FROM {events} ORDER BY originator_id, originator_version")  # noqa: S608 - fixed names
    subject: str | None = None
    found: dict[str, dict[str, Any]] = {}
    for originator_id, version, state in bind.execute(select.execution_options(yield_per=CHUNK)):
        subject_id = str(UUID(str(originator_id)))
        if subject_id != subject:
            yield from found.values()
            subject, found = subject_id, {}
        fields = json.loads(bytes(state))
        row = found.setdefault(fields["command_id"], {
            "command_id": fields["command_id"], "subject_id": subject_id, "digest": None, "event_ids": "",
        })  # fmt: skip
        event_id = str(uuid5(EVENT_ID_NAMESPACE, f"{subject_id}/{version}"))
        row["event_ids"] = f"{row['event_ids']} {event_id}".strip()
        if fields.get("command_digest"):
            row["digest"] = fields["command_digest"]
    yield from found.values()


def downgrade() -> None:
    """Refused, as every revision of the ledger's side tables (see 0001)."""
    raise RuntimeError("the ledger's side tables are not downgraded")
