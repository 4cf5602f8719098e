"""A fresh, empty store of each kind the services support, as a store URL."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty SQLite file, or an empty database of its own on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    db = request.getfixturevalue("postgres_database")
    return f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"
