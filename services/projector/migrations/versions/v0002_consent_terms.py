"""subject_state: the consent in force and its last day as columns, for the list of consents about to expire.

The fold is unchanged, so nothing is rebuilt: the two columns are filled here from each stored
state, a page of subjects at a time. Only a state whose text holds a dated `valid_until` can have a
term; its consent is in force when it is active or has a withdrawal pending and the subject's data
was not erased. Rows written later get them from services.projector.store.consent_term; a revision
keeps its own copy of the rule, as the states it reads were written by then.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CHUNK = 1_000
_INDEX = ("subject_state_valid_until", "subject_state", ["valid_until"])
_STATE = sa.table("subject_state", *(sa.column(name) for name in ("subject_id", "state", "consent_id", "valid_until")))


def _term(state: dict[str, Any]) -> tuple[str, str] | None:
    """The consent in force's id and last day, if it has a term (services.projector.store.consent_term then)."""
    consent = state.get("consent")
    if consent is None or state.get("status") not in ("active", "withdrawal_pending") or state.get("erased"):
        return None
    return None if consent.get("valid_until") is None else (consent["event_id"], consent["valid_until"])


def upgrade() -> None:
    """Add the columns and their index, then fill them from the stored states."""
    op.add_column("subject_state", sa.Column("consent_id", sa.Text(), nullable=True))
    op.add_column("subject_state", sa.Column("valid_until", sa.Text(), nullable=True))
    index, table, columns = _INDEX
    op.create_index(index, table, columns)
    bind = op.get_bind()
    s = _STATE.c
    fill = sa.update(_STATE).where(s.subject_id == sa.bindparam("key"))
    fill = fill.values(consent_id=sa.bindparam("term_of"), valid_until=sa.bindparam("last_day"))
    dated = s.state.like('%"valid_until":"%')  # canonical JSON: a term is a quoted date, no term is null
    after = ""
    while True:
        page = bind.execute(
            sa.select(s.subject_id, s.state).where(dated, s.subject_id > after).order_by(s.subject_id).limit(CHUNK)
        ).fetchall()
        if not page:
            return
        terms = [(subject, _term(orjson.loads(state))) for subject, state in page]
        rows = [{"key": subject, "term_of": t[0], "last_day": t[1]} for subject, t in terms if t is not None]
        if rows:
            bind.execute(fill, rows)
        after = page[-1][0]


def downgrade() -> None:
    """Drop the index and the columns."""
    index, table, _ = _INDEX
    op.drop_index(index, table)
    op.drop_column("subject_state", "valid_until")
    op.drop_column("subject_state", "consent_id")
