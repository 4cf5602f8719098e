"""Alembic migrations of the ledger's side tables (consent_forms, subject_keys); see services.ledger.adapters.tables."""
