"""Kafka transactions through aiokafka on our broker: the relay's exactly-once design depends on them.

aiokafka sends version-0 transaction requests (InitProducerId, AddPartitionsToTxn, EndTxn,
AddOffsetsToTxn, TxnOffsetCommit); these tests show what Kafka 4 does with them.
See docs/decisions/0003-kafka-transactions-with-aiokafka.md.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import NewTopicFactory
from tests.infrastructure.test_kafka_broker import consume_values


async def test_a_read_committed_consumer_sees_committed_transactions_only(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=f"relay-{uuid.uuid4().hex[:6]}")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, key=b"s-1", value=b"granted")
            await producer.send(topic, key=b"s-1", value=b"opted-out")
        await producer.begin_transaction()
        await producer.send_and_wait(topic, key=b"s-1", value=b"never-happened")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, key=b"s-1", value=b"withdrawn")
    finally:
        await producer.stop()

    committed = await consume_values(kafka_bootstrap, topic, expected=3, isolation_level="read_committed")
    everything = await consume_values(kafka_bootstrap, topic, expected=4, isolation_level="read_uncommitted")

    assert committed == [b"granted", b"opted-out", b"withdrawn"]
    assert everything == [b"granted", b"opted-out", b"never-happened", b"withdrawn"]


_CRASHING_PRODUCER = """
import asyncio, sys
from aiokafka import AIOKafkaProducer

async def main():
    producer = AIOKafkaProducer(bootstrap_servers=sys.argv[1], transactional_id=sys.argv[2])
    await producer.start()
    await producer.begin_transaction()
    for n in range(100):
        await producer.send(sys.argv[3], key=b"s-1", value=b"orphan-%d" % n)
    await producer.flush()
    print("sent", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_killed_producers_open_transaction_is_aborted_when_its_successor_starts(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    """The relay's crash case: SIGKILL mid-transaction, restart with the same transactional id."""
    topic = await new_topic()
    transactional_id = f"relay-{uuid.uuid4().hex[:6]}"
    crashing = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CRASHING_PRODUCER, kafka_bootstrap, transactional_id, topic,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert crashing.stdout is not None
    try:
        assert await asyncio.wait_for(crashing.stdout.readline(), timeout=60) == b"sent\n"
    finally:
        os.kill(crashing.pid, signal.SIGKILL)
        await crashing.wait()

    successor = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=transactional_id)
    await successor.start()  # InitProducerId fences the dead producer and aborts its transaction
    try:
        async with successor.transaction():
            await successor.send(topic, key=b"s-1", value=b"republished")
    finally:
        await successor.stop()

    committed = await consume_values(kafka_bootstrap, topic, expected=1, isolation_level="read_committed")
    everything = await consume_values(kafka_bootstrap, topic, expected=101)

    assert committed == [b"republished"]
    assert len(everything) == 101  # the orphans reached the log, yet no read_committed reader sees them


async def test_consumed_offsets_commit_atomically_with_the_records_produced(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    """Consume-transform-produce: offsets sent in the transaction move only if it commits."""
    source, sink = await new_topic("commands"), await new_topic("events")
    group = f"ledger-{uuid.uuid4().hex[:6]}"
    feeder = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await feeder.start()
    for n in range(2):
        await feeder.send_and_wait(source, value=f"command-{n}".encode())
    await feeder.stop()
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", isolation_level="read_committed",
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=f"ledger-{uuid.uuid4().hex[:6]}")
    await consumer.start()
    await producer.start()
    partition = TopicPartition(source, 0)
    try:
        first = await consumer.getone()
        async with producer.transaction():
            await producer.send(sink, value=first.value.replace(b"command", b"event"))
            await producer.send_offsets_to_transaction({partition: first.offset + 1}, group)
        second = await consumer.getone()
        await producer.begin_transaction()
        await producer.send(sink, value=second.value.replace(b"command", b"event"))
        await producer.send_offsets_to_transaction({partition: second.offset + 1}, group)
        await producer.abort_transaction()
        committed_offset = await consumer.committed(partition)
    finally:
        await producer.stop()
        await consumer.stop()

    events = await consume_values(kafka_bootstrap, sink, expected=1, isolation_level="read_committed")

    assert committed_offset == 1  # the aborted transaction did not move the group past command-1
    assert events == [b"event-0"]
