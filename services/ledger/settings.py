"""The ledger's configuration (environment variables CONSENT_*)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from schemas.topics import ACKS, COMMANDS, DEADLETTER, EVENTS
from services.platform.settings import ServiceSettings
from services.platform.topology import PARTITIONS


class LedgerSettings(ServiceSettings):
    """Where the ledger stores events and keys, its secrets, its tokens and the controller it records."""

    ledger_store: str = Field(
        default="sqlite:///var/ledger.sqlite3",
        description="Event store: sqlite:///path (embedded default) or postgresql://user@host:port/db.",
    )
    ledger_master_key: SecretStr | None = Field(
        default=None, description="32 random bytes, base64: wraps every subject's key. Required."
    )
    ledger_identity_secret: SecretStr | None = Field(
        default=None, description="At least 32 bytes of text: the HMAC secret deriving subject ids. Required."
    )
    ledger_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 seed, 32 random bytes in base64: signs checkpoints and evidence bundles. "
        "Without it no evidence bundle can be made.",
    )
    ledger_sealing_key: SecretStr | None = Field(
        default=None,
        description="X25519 private key, 32 random bytes in base64: opens the personal data channels seal to its "
        "public key (GET /v1/commands/public-key). Without it sealed personal data is refused.",
    )
    api_tokens: str = Field(default="{}", description='JSON {"<token>": {"name": "...", "scopes": ["..."]}}.')
    console_projector_url: str = Field(
        default="http://127.0.0.1:8082",
        description="The projector the console asks for checks, the requests register and expiring consents.",
    )
    console_projector_token: SecretStr | None = Field(
        default=None,
        description="A projector token with the read and dpo scopes for the console; without it the console shows "
        "no checks and no board.",
    )
    console_session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the console's session cookies (at least 32 characters); default: derived from the master "
        "key, so every ledger instance accepts the others' sessions.",
    )
    console_session_hours: float = Field(default=8.0, gt=0, le=24, description="How long a console sign-in lasts.")
    console_upload_max_bytes: int = Field(
        default=512 * 1024**2, ge=1, description="The largest evidence bundle the console's verify form takes."
    )
    controller_name: str = "ESPERANCE-RK LLP"
    controller_bin: str = "220240037922"
    commands_topic: str = Field(
        default=COMMANDS,
        description="The commands topic family: each channel and the projector's cascade writes its own topic in it, "
        "consent.commands.<sender>.v1; the ledger reads them all.",
    )
    commands_retention_days: int = Field(
        default=7, ge=1, description="Retention of the command and dead-letter topics (they may carry personal data)."
    )
    deadletter_topic: str = DEADLETTER
    acks_topic: str = Field(
        default=ACKS,
        description="The acknowledgements topic family: each subscriber system confirms enforcement on its own "
        "topic in it, consent.acks.<system>.v1; the ledger reads them all.",
    )
    ledger_consume_commands: bool = Field(
        default=True, description="Consume every sender's commands and acknowledgements topic."
    )
    events_topic: str = EVENTS
    events_partitions: int = Field(
        default=PARTITIONS, ge=1, description="Partitions of consent.events.v1 when created."
    )
    ledger_run_relay: bool = Field(default=True, description="Run the relay inside the ledger process.")
    relay_transactional_id: str = Field(
        default="consent-ledger-relay", description="One per event store: it fences a crashed relay's transaction."
    )
    relay_batch_size: int = Field(default=2000, ge=1, description="Events per Kafka transaction at most.")
    scheduler_interval_seconds: float = Field(
        default=60.0, ge=0, description="How often due withdrawals and expiries are applied; 0 turns it off."
    )
