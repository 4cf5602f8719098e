"""From a store URL (sqlite:///path or postgresql://...) to the event store's and key store's settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from services.ledger.pii.keys import KeyStore, MasterKey, PostgresKeyStore, SqliteKeyStore
from services.platform.settings import store_kind


def eventsourcing_env(url: str) -> dict[str, str]:
    """The eventsourcing Application environment for the event store at `url`."""
    if store_kind(url) == "sqlite":
        path = sqlite_path(url)
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path, "SQLITE_LOCK_TIMEOUT": "10"}
    parts = urlsplit(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": "10",
    }


def sqlite_path(url: str) -> str:
    """The file of a sqlite:///relative/or//absolute URL; its folder is created when missing."""
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def key_store(url: str, master: MasterKey) -> KeyStore:
    """The per-subject key store beside the event store at `url` (same database, own table)."""
    if store_kind(url) == "sqlite":
        return SqliteKeyStore(sqlite_path(url), master)
    return PostgresKeyStore(url.replace("postgresql+psycopg://", "postgresql://"), master)
