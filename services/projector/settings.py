"""The projector's configuration."""

from __future__ import annotations

from pydantic import Field

from schemas.topics import COMMANDS, DEADLETTER, EVENTS
from services.platform.settings import ServiceSettings


class ProjectorSettings(ServiceSettings):
    """Where the projector keeps its read models and offsets (CONSENT_PROJECTOR_STORE)."""

    projector_store: str = Field(
        default="sqlite:///var/projector.sqlite3",
        description="Read-model store: sqlite:///path (embedded default) or postgresql://user@host:port/db.",
    )
    events_topic: str = EVENTS
    deadletter_topic: str = DEADLETTER
    commands_topic: str = Field(
        default=COMMANDS,
        description="The commands topic family: the card cascade goes to the projector's own topic in it "
        "(consent.commands.projector.v1).",
    )
    projector_group_id: str = Field(default="consent-projector", description="The projector's consumer group.")
    api_tokens: str = Field(default="{}", description='JSON {"<token>": {"name": "...", "scopes": ["..."]}}.')
    max_body_bytes: int = Field(
        default=16_777_216,
        ge=1024,
        description="Largest HTTP request body taken (a bulk check of 100,000 subjects is about 4 MB); larger: 413.",
    )
