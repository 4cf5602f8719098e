"""The projector's tables as they were before Alembic (read-model version 3).

A store written before Alembic already has them, and no version table: each table and the index is
made only when it is missing, so such a store upgrades by recording this revision and nothing else.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _text(*names: str, nullable: bool = False) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.Text(), nullable=nullable) for name in names]


def _tables() -> dict[str, list[sa.schema.SchemaItem]]:
    """The tables' columns, made anew for each use (a Column belongs to one Table)."""
    return {
        "projector_meta": [sa.Column("name", sa.Text(), primary_key=True), *_text("value")],
        "projector_offsets": [
            sa.Column("topic", sa.Text(), primary_key=True), sa.Column("partition_id", sa.Integer(), primary_key=True),
            sa.Column("next_offset", sa.BigInteger(), nullable=False),
        ],
        "subject_state": [
            sa.Column("subject_id", sa.Text(), primary_key=True), sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("position", sa.BigInteger(), nullable=False), *_text("state"),
        ],
        "transfer_register": [
            sa.Column("event_id", sa.Text(), primary_key=True),
            *_text("subject_id", "recipient", "country", "purpose", "categories", "at"),
        ],
        "cascade_outbox": [
            sa.Column("command_id", sa.Text(), primary_key=True), *_text("subject_id", "command"),
            sa.Column("sent", sa.Integer(), nullable=False),
        ],
        "subject_requests": [
            sa.Column("subject_id", sa.Text(), primary_key=True), sa.Column("request_id", sa.Text(), primary_key=True),
            *_text("kind", "received_on", "due_on"), sa.Column("entered_late_by_days", sa.Integer()), *_text("status"),
            *_text("answered_on", "response_ref", "reason", nullable=True),
        ],
        "withdrawal_applications": [
            sa.Column("subject_id", sa.Text(), primary_key=True), sa.Column("event_id", sa.Text(), primary_key=True),
            *_text("filed_on", "effective_on"), sa.Column("entered_late_by_days", sa.Integer()), *_text("status"),
            *_text("outcome_event_id", "reason", "legal_basis", nullable=True),
        ],
    }  # fmt: skip


_INDEX = ("withdrawal_applications_due", "withdrawal_applications", ["status", "effective_on"])


def upgrade() -> None:
    """Create every table and the index that is missing."""
    found = sa.inspect(op.get_bind())
    existing = set(found.get_table_names())
    for name, items in _tables().items():
        if name not in existing:
            op.create_table(name, *items)
    index, table, columns = _INDEX
    if table in existing and any(i["name"] == index for i in found.get_indexes(table)):
        return
    op.create_index(index, table, columns)


def downgrade() -> None:
    """Drop the read models (the log rebuilds them from offset 0)."""
    for name in reversed(list(_tables())):
        op.drop_table(name)
