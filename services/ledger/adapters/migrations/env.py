"""Alembic's entry for the ledger's side tables; run by services.platform.schema.upgrade_to_head."""

from services.ledger.adapters.tables import METADATA
from services.platform.schema import run_env

run_env(METADATA)
