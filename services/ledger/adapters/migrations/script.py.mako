"""${message}

Revision ${up_revision} (after ${down_revision | comma,n}), written ${create_date}.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    """What this revision changes."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Undo it (or refuse, if undoing would lose data)."""
    ${downgrades if downgrades else "pass"}
