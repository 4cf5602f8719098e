"""Read a whole topic once, from offset 0 to the end offsets it had when reading began (read_committed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from services.platform.kafka import KafkaAccess
from services.platform.topics import topic_partitions

Batch = list["ConsumerRecord[bytes, bytes]"]
PAGE = 5000


async def read_to_end(kafka: KafkaAccess, topic: str, on_batch: Callable[[Batch], Awaitable[None]]) -> int:
    """Hand every committed record to `on_batch`, partition by partition in offset order; return how many."""
    partitions = await topic_partitions(kafka, topic)
    consumer = AIOKafkaConsumer(**kafka.options(), isolation_level="read_committed", enable_auto_commit=False)
    await consumer.start()
    count = 0
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=2000, max_records=PAGE)
            for tp, records in fetched.items():
                batch = [record for record in records if record.offset < ends[tp]]
                count += len(batch)
                await on_batch(batch)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if not fetched and remaining:
                break  # only transaction markers are left below the end offsets
    finally:
        await consumer.stop()
    return count
