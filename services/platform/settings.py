"""Configuration every service reads from the environment (prefix CONSENT_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.platform.kafka import KafkaAccess


class ServiceSettings(BaseSettings):
    """Kafka and store settings shared by the ledger and the projector."""

    model_config = SettingsConfigDict(env_prefix="CONSENT_", extra="ignore")

    topic_replication: int = Field(
        default=1, ge=1, description="Replication of the topics a service creates: 3 in production (min ISR 2)."
    )
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]."
    )
    kafka_username: str | None = Field(
        default=None, description="This system's Kafka principal (SASL/SCRAM-SHA-512); unset: no authentication."
    )
    kafka_password: SecretStr | None = Field(default=None, description="The principal's SCRAM password.")
    kafka_ca_file: str | None = Field(
        default=None, description="CA certificate (PEM) of the brokers' TLS listeners; unset: no TLS."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest HTTP request body taken; a larger one is answered 413."
    )

    def kafka(self) -> KafkaAccess:
        """How this service reaches and authenticates to Kafka."""
        password = self.kafka_password.get_secret_value() if self.kafka_password else None
        return KafkaAccess(self.kafka_bootstrap, self.kafka_username, password, self.kafka_ca_file)


def store_kind(url: str) -> str:
    """'sqlite' or 'postgresql', from a store URL; anything else is a configuration error."""
    scheme = url.split(":", 1)[0]
    if scheme.startswith("postgres"):
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    raise ValueError(f"unsupported store URL scheme {scheme!r}: use sqlite:///path or postgresql://...")
