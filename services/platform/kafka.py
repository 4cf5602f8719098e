"""Kafka helpers every service shares."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError


async def _port_open(bootstrap_servers: str) -> bool:
    host, _, port = bootstrap_servers.split(",", maxsplit=1)[0].rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout=1)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def answers_metadata(bootstrap_servers: str) -> bool:
    """True when a broker at `bootstrap_servers` answers a metadata request naming at least one broker.

    A closed port is answered without a Kafka client, so probing a broker that is still starting logs nothing.
    """
    if not await _port_open(bootstrap_servers):
        return False
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except (KafkaError, OSError):
        return False
    finally:
        await client.close()
