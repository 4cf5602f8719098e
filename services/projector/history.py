"""A subject's consent state and checks at any past moment, rebuilt from consent.events.v1 itself.

The read models hold only the latest state; the log holds every event. `subject_events` reads one
subject's envelopes from the topic (only the partition its key maps to, committed records only, up
to the end offsets at the time of the call); `state_as_of` folds those the ledger had recorded by a
moment, and `decision_as_of` answers a check as it would have been answered then (audit replay), on
`kazakh_day` of that moment.
Depends on schemas/ and the projector's own fold and rules, never on the ledger's code or store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2

from schemas.events import Envelope, parse_envelope
from services.platform.kafka import KafkaAccess
from services.platform.topics import topic_partitions
from services.projector.decisions import KAZAKHSTAN, Decision, Question, decide
from services.projector.projection import evolve, initial_state

PAGE = 5000
POLL_MS = 1000
READ_TIMEOUT = 60.0  # seconds to reach the end offsets before giving up


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner puts `key` on: positive murmur2 of the bytes, mod partitions."""
    return (int(murmur2(key)) & 0x7FFFFFFF) % partitions


async def subject_events(kafka: KafkaAccess, topic: str, subject_id: str) -> list[Envelope]:
    """Every committed envelope of the subject on `topic`, in subjectversion order (empty if none or no topic).

    Reads the one partition the subject's key maps to, from its beginning to its end offset (the
    last stable offset, under read_committed) as it is when the call starts, then stops. An event
    published twice (same id) is returned once. Raises TimeoutError if the end is not reached in
    READ_TIMEOUT seconds (a caller wanting less wraps the call in asyncio.timeout), and ContractError
    for a record that does not fit the v1 contract.
    """
    partitions = await topic_partitions(kafka, topic)
    if not partitions:
        return []
    key = subject_id.encode()
    partition = TopicPartition(topic, partition_for(key, len(partitions)))
    consumer = AIOKafkaConsumer(
        **kafka.options(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        async with asyncio.timeout(READ_TIMEOUT):
            found = await _read_until(consumer, partition, end, key)
    finally:
        await consumer.stop()
    return sorted(found.values(), key=lambda envelope: envelope.subjectversion)


async def _read_until(
    consumer: AIOKafkaConsumer, partition: TopicPartition, end: int, key: bytes
) -> dict[str, Envelope]:
    found: dict[str, Envelope] = {}
    while await consumer.position(partition) < end:
        batch = await consumer.getmany(partition, timeout_ms=POLL_MS, max_records=PAGE)
        for record in batch.get(partition, []):
            if record.offset < end and record.key == key:
                envelope = parse_envelope(record.value)
                found.setdefault(str(envelope.id), envelope)
    return found


def state_as_of(envelopes: Sequence[Envelope], subject_id: str, as_of: datetime) -> dict[str, Any] | None:
    """The subject's state as the ledger had recorded it at `as_of` (aware); None when nothing was recorded yet.

    Folds, in subjectversion order, the envelopes the ledger recorded (`recordedat`) at or before
    `as_of`, stopping at the first one recorded later: an event cannot have been seen before the
    ones the subject's history puts ahead of it.
    """
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must carry its time zone")
    state: dict[str, Any] | None = None
    for envelope in sorted(envelopes, key=lambda e: e.subjectversion):
        if envelope.recordedat > as_of:
            break
        state = evolve(state if state is not None else initial_state(subject_id), envelope)
    return state


def kazakh_day(moment: datetime) -> date:
    """The day `moment` (aware) falls on in Kazakhstan: the `today` of a check made then."""
    return moment.astimezone(KAZAKHSTAN).date()


def decision_as_of(envelopes: Sequence[Envelope], subject_id: str, question: Question, as_of: datetime) -> Decision:
    """The answer the check API would have given to `question` at `as_of` (its day in Kazakhstan as today)."""
    return decide(state_as_of(envelopes, subject_id, as_of), question, kazakh_day(as_of))
