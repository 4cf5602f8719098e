"""The ledger's configuration."""

from __future__ import annotations

from pydantic import Field

from services.platform.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    """Where the ledger keeps its event store (CONSENT_LEDGER_STORE)."""

    ledger_store: str = Field(
        default="sqlite:///var/ledger.sqlite3",
        description="Event store: sqlite:///path (embedded default) or postgresql://user@host:port/db.",
    )
