"""The projector's configuration."""

from __future__ import annotations

from pydantic import Field

from services.platform.settings import ServiceSettings


class ProjectorSettings(ServiceSettings):
    """Where the projector keeps its read models and offsets (CONSENT_PROJECTOR_STORE)."""

    projector_store: str = Field(
        default="sqlite:///var/projector.sqlite3",
        description="Read-model store: sqlite:///path (embedded default) or postgresql://user@host:port/db.",
    )
