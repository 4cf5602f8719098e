"""The ledger's revisions, oldest first: v0001 is the layout written before Alembic."""
