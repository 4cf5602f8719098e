"""Creating the project's Kafka topics (services.platform.topology defines them) and reading their partitions."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services.platform.kafka import KafkaAccess
from services.platform.topology import TopicSpec

__all__ = ["TopicSpec", "ensure_topics", "topic_partitions"]

log = logging.getLogger(__name__)


async def ensure_topics(kafka: KafkaAccess, specs: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet, with their settings; return the names created."""
    admin = AIOKafkaAdminClient(**kafka.options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        created: list[str] = []
        for spec in missing:
            try:
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, spec.replication, topic_configs=spec.config())]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass  # another instance created it meanwhile
        if created:
            log.info("created topics %s", ", ".join(created))
        return created
    finally:
        await admin.close()


async def topic_partitions(kafka: KafkaAccess, topic: str) -> list[TopicPartition]:
    """The partitions of `topic`, from the broker's metadata (empty if the topic does not exist)."""
    admin = AIOKafkaAdminClient(**kafka.options())
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
