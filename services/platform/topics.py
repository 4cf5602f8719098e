"""The project's Kafka topics and their settings, created by the services when missing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

# The log is the record: nothing expires (retention -1) and nothing is compacted away.
TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partitions, replication factor (3 in production, 1 on one broker)."""

    name: str
    partitions: int = 6
    replication: int = 1
    retention_ms: int = -1  # -1: kept forever (the event log); commands carrying personal data: days


async def ensure_topics(bootstrap_servers: str, specs: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet, with TOPIC_CONFIG; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        created: list[str] = []
        for spec in missing:
            config = TOPIC_CONFIG | {"retention.ms": str(spec.retention_ms)}
            if spec.replication >= 3:
                config["min.insync.replicas"] = "2"
            try:
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, spec.replication, topic_configs=config)]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass  # another instance created it meanwhile
        if created:
            log.info("created topics %s", ", ".join(created))
        return created
    finally:
        await admin.close()


async def topic_partitions(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    """The partitions of `topic`, from the broker's metadata (empty if the topic does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        TopicPartition(topic, partition["partition"])
        for entry in described
        if entry["topic"] == topic and entry["error_code"] == 0
        for partition in entry["partitions"]
    )
