"""The projector's revisions, oldest first: v0001 is the layout of read-model version 3 before Alembic."""
