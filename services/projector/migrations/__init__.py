"""Alembic migrations of the projector's read model; see services.projector.schema."""
