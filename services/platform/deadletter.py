"""consent.deadletter.v1: a record nobody could apply, kept with its original bytes and key and the reason."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

log = logging.getLogger(__name__)


async def dead_letter(
    broker: KafkaBroker, topic: str, record: ConsumerRecord[bytes, bytes], rule: str, reason: str
) -> None:
    """Publish `record` unchanged to the dead-letter `topic`, with why (never its content) in the headers."""
    log.warning("dead-lettered %s@%d/%d: %s", record.topic, record.partition, record.offset, rule)
    await broker.publish(
        record.value,
        topic,
        key=record.key,
        headers={
            "deadletter-rule": rule,
            "deadletter-reason": reason[:2000],
            "original-topic": record.topic,
            "original-partition": str(record.partition),
            "original-offset": str(record.offset),
        },
    )
