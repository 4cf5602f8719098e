"""Kafka helpers every service shares: how to reach and authenticate to the cluster, and whether it answers."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLScram512

SCRAM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaAccess:
    """Where the cluster is and who this client is: no user means no authentication (the single-broker default).

    With a user, the client authenticates with SASL/SCRAM-SHA-512, over TLS when `ca_file` names the
    certificate authority of the brokers' certificates.
    """

    bootstrap_servers: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    def options(self) -> dict[str, Any]:
        """Keyword arguments of every aiokafka client (producer, consumer, admin) for this access."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers}
        tls = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        if tls is not None:
            options |= {"security_protocol": "SSL", "ssl_context": tls}
        if self.username is not None:
            options |= {
                "security_protocol": "SASL_SSL" if tls else "SASL_PLAINTEXT",
                "sasl_mechanism": SCRAM,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password or "",
            }
        return options

    def servers(self) -> list[str]:
        """The bootstrap servers one by one (FastStream reads one string as one host, commas and all)."""
        return [server.strip() for server in self.bootstrap_servers.split(",") if server.strip()]

    def security(self) -> BaseSecurity | None:
        """The same access as FastStream's security object (None: plaintext, no authentication)."""
        tls = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        if self.username is not None:
            return SASLScram512(self.username, self.password or "", ssl_context=tls, use_ssl=tls is not None)
        return BaseSecurity(ssl_context=tls, use_ssl=True) if tls else None


def faststream_broker(kafka: KafkaAccess, **options: Any) -> KafkaBroker:
    """A FastStream broker for this access: every bootstrap server, its security, an idempotent producer (acks=all).

    It creates no topic: the services create theirs on purpose, with their settings (ensure_topics), and
    on the authenticated cluster the topology's topics exist and no service principal may create one.
    """
    return KafkaBroker(
        kafka.servers(), security=kafka.security(), enable_idempotence=True, allow_auto_create_topics=False, **options
    )


async def _port_open(bootstrap_servers: str) -> bool:
    host, _, port = bootstrap_servers.split(",", maxsplit=1)[0].rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout=1)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def answers_metadata(kafka: KafkaAccess | str) -> bool:
    """True when a broker at `kafka` answers a metadata request naming at least one broker.

    A closed port is answered without a Kafka client, so probing a broker that is still starting logs nothing.
    """
    access = KafkaAccess(kafka) if isinstance(kafka, str) else kafka
    if not await _port_open(access.bootstrap_servers):
        return False
    client = AIOKafkaClient(**access.options(), request_timeout_ms=3000)
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except (KafkaError, OSError):
        return False
    finally:
        await client.close()
