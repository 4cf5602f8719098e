"""The ledger's side tables as they were before Alembic: consent_forms and subject_keys.

A database written before Alembic already has them, and no version table: each table is made only
when it is missing, so such a database upgrades by recording this revision and nothing else.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# TIMESTAMPTZ on PostgreSQL; ISO 8601 text on SQLite, as the key store wrote it before.
_MOMENT = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    """Create consent_forms and subject_keys where they are missing."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "consent_forms" not in existing:
        op.create_table(
            "consent_forms",
            sa.Column("text_sha256", sa.Text(), primary_key=True),
            sa.Column("form_id", sa.Text(), nullable=False),
            sa.Column("form_version", sa.Text(), nullable=False),
            sa.Column("language", sa.Text(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("registered_at", sa.Text(), nullable=False),
        )
    if "subject_keys" not in existing:
        op.create_table(
            "subject_keys",
            sa.Column("subject_id", sa.Text(), primary_key=True),
            sa.Column("key_id", sa.Text(), nullable=False),
            sa.Column("wrapped_key", sa.LargeBinary()),
            sa.Column("created_at", _MOMENT, nullable=False),
            sa.Column("destroyed_at", _MOMENT),
            sa.CheckConstraint("(wrapped_key IS NULL) = (destroyed_at IS NOT NULL)"),
        )


def downgrade() -> None:
    """Refused: dropping subject_keys would lose every subject key, and with it their personal data."""
    raise RuntimeError("the ledger's side tables are not downgraded: subject_keys holds every subject's key")
