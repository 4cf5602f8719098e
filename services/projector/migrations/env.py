"""Alembic's entry for the projector's read model; run by services.platform.schema.upgrade_to_head."""

from services.platform.schema import run_env
from services.projector.schema import METADATA

run_env(METADATA)
