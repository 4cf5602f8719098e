"""The broker is real Apache Kafka: what the ledger, relay and projector rely on works against it."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from tests.conftest import NewTopicFactory


async def consume_values(
    bootstrap: str, topic: str, *, expected: int, isolation_level: str = "read_uncommitted", group_id: str | None = None
) -> list[bytes]:
    """Read `topic` from the start (or the group's committed offset) until `expected` values or 15 s of nothing."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        isolation_level=isolation_level,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < expected:
            batch = await consumer.getmany(timeout_ms=15_000)
            if not batch:
                break
            values += [record.value for records in batch.values() for record in records]
    finally:
        await consumer.stop()
    return values


async def test_records_keyed_by_subject_are_consumed_in_the_order_produced(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for n in range(50):
            await producer.send(topic, key=b"subject-1", value=f"event-{n}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    values = await consume_values(kafka_bootstrap, topic, expected=50)

    assert values == [f"event-{n}".encode() for n in range(50)]


class ConsentNote(BaseModel):
    subject_id: str
    purpose: str


async def test_a_faststream_subscriber_on_the_real_broker_receives_a_published_model(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic()
    broker = KafkaBroker(kafka_bootstrap)
    received: asyncio.Future[ConsentNote] = asyncio.get_running_loop().create_future()

    @broker.subscriber(topic, group_id=f"smoke-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest")
    async def on_note(note: ConsentNote) -> None:
        received.set_result(note)

    async with broker:
        await broker.start()
        await broker.publish(ConsentNote(subject_id="s-1", purpose="loyalty"), topic, key=b"s-1")
        note = await asyncio.wait_for(received, timeout=30)

    assert note == ConsentNote(subject_id="s-1", purpose="loyalty")


async def test_an_idempotent_producer_writes_each_record_exactly_once_in_order(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        sends = [await producer.send(topic, value=str(n).encode()) for n in range(2_000)]
        offsets = [(await sent).offset for sent in sends]
    finally:
        await producer.stop()

    values = await consume_values(kafka_bootstrap, topic, expected=2_000)

    assert offsets == list(range(2_000))
    assert values == [str(n).encode() for n in range(2_000)]


async def test_a_consumer_group_resumes_after_its_committed_offset(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic()
    group = f"projector-{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    for n in range(10):
        await producer.send_and_wait(topic, value=str(n).encode())
    await producer.stop()
    first = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await first.start()
    partition = TopicPartition(topic, 0)
    seen: list[bytes] = []
    while len(seen) < 4:
        seen.append((await first.getone()).value)
    await first.commit({partition: 4})  # the next offset to read
    await first.stop()

    rest = await consume_values(kafka_bootstrap, topic, expected=6, group_id=group)

    assert seen == [b"0", b"1", b"2", b"3"]
    assert rest == [str(n).encode() for n in range(4, 10)]
