"""The projector's consumer: consent.events.v1 in batches, folded into the read models, then acknowledged.

The read models and the consumed offsets commit in one database transaction (ProjectionStore.apply);
the Kafka acknowledgement comes after it, so a crash in between only redelivers records the store
skips. The card cascade is written to an outbox in that same transaction and sent afterwards, to the
projector's own topic (consent.commands.projector.v1): the ledger records it as sent by "projector".
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date, datetime
from typing import Any, cast

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from anyio import to_thread
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import Gauge

from schemas.events import ContractError, Envelope, parse_envelope
from schemas.topics import sender_topic
from services.platform.deadletter import dead_letter
from services.platform.kafka import faststream_broker
from services.platform.tasks import pause, start_when_reachable
from services.platform.topology import PROJECTOR, TopicSpec
from services.projector.decisions import KAZAKHSTAN
from services.projector.settings import ProjectorSettings
from services.projector.store import Consumed, ProjectionStore

log = logging.getLogger(__name__)

BATCH = 1000
OVERDUE_CHECK_SECONDS = 3600.0
OVERDUE = Gauge("consent_requests_overdue", "Subject requests still open after their due date")
RETRY_DELAY_SECONDS = 1.0


def projector_broker(
    store: ProjectionStore, settings: ProjectorSettings, *, group_id: str | None = None
) -> KafkaBroker:
    """A FastStream broker whose batch subscriber keeps the read models up to date."""
    # Idempotent, so acks=all: the cascade is on every in-sync replica before the outbox marks it sent.
    broker = faststream_broker(settings.kafka(), client_id="consent-projector")
    topic = settings.events_topic

    resume = ResumeFromStore(store, topic)
    subscriber = broker.subscriber(
        topic,
        group_id=group_id or settings.projector_group_id,
        batch=True,
        max_records=BATCH,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        listener=resume,
    )
    resume.subscriber = subscriber

    @subscriber
    async def on_events(message: KafkaMessage) -> None:
        records = cast("tuple[ConsumerRecord[bytes, bytes], ...]", message.raw_message)
        try:
            batch = [Consumed(r.partition, r.offset, await decoded(r)) for r in records]
            await to_thread.run_sync(store.apply, topic, batch)
        except Exception:
            log.exception("batch not applied; it will be read again")
            await message.nack()  # rewinds every partition of the batch to its first record
            await asyncio.sleep(RETRY_DELAY_SECONDS)
            return
        await message.ack()

    async def decoded(record: ConsumerRecord[bytes, bytes]) -> Envelope | None:
        """The record's envelope, or None once a record that fits no contract is in the dead letters."""
        try:
            return parse_envelope(record.value)
        except ContractError as error:
            await dead_letter(broker, settings.deadletter_topic, record, "contract", str(error))
            return None

    return broker


class ResumeFromStore(ConsumerRebalanceListener):  # type: ignore[misc]
    """Each partition this projector is given resumes at the store's next offset, not the group's.

    The store's offsets commit with the rows they produced, so they are the truth: a store restored
    from a backup, or rebuilt empty for a new read-model version, is caught up from where it stands.
    """

    def __init__(self, store: ProjectionStore, topic: str) -> None:
        self.store, self.topic = store, topic
        self.subscriber: Any = None  # set once the subscriber exists; its `consumer` is the AIOKafkaConsumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to do: offsets are in the store already."""

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Seek every assigned partition to the store's next offset for it (0 when the store has none)."""
        offsets = await to_thread.run_sync(self.store.next_offsets, self.topic)
        for partition in assigned:
            self.subscriber.consumer.seek(partition, offsets.get(partition.partition, 0))


def cascade_topic(settings: ProjectorSettings) -> str:
    """Where the card cascade goes: the projector's own topic of the commands family (consent.commands.projector.v1)."""
    return sender_topic(settings.commands_topic, PROJECTOR)


async def send_cascade(store: ProjectionStore, broker: KafkaBroker, topic: str) -> int:
    """Send the cascade commands the store has recorded but not sent to `topic`; return how many were sent.

    A command carries no actor (one recorded by an older projector has it dropped): the ledger records
    the sender of the topic, "projector", and would record "projector/<actor>" for a named one.
    """
    pending = await to_thread.run_sync(store.unsent_cascade)
    for command in pending:
        sent = {name: value for name, value in command.items() if name != "actor"}
        await broker.publish(sent, topic, key=command["subject_id"].encode())
    if pending:
        await to_thread.run_sync(store.mark_sent, [command["command_id"] for command in pending])
        log.info("sent %d cascade command(s)", len(pending))
    return len(pending)


def overdue_requests(store: ProjectionStore, today: date) -> list[dict[str, str]]:
    """Open requests past their due date: each one a warning in the log, their number a metric."""
    overdue = store.open_requests(due_before=today)
    OVERDUE.set(len(overdue))
    for request in overdue:
        log.warning(
            "subject request %s (%s) of subject %s was due on %s and is still open",
            request["request_id"], request["kind"], request["subject_id"], request["due_on"],
        )  # fmt: skip
    return overdue


async def run_projector(store: ProjectionStore, settings: ProjectorSettings, stop: asyncio.Event) -> None:
    """Consume and cascade until `stop`; while Kafka is away, keep trying (checks still answer)."""
    broker = projector_broker(store, settings)
    topics = [TopicSpec(settings.events_topic, replication=settings.topic_replication)]
    await start_when_reachable(broker, settings.kafka(), topics, stop, "checks answer from the last state")
    try:
        next_alert = 0.0
        while not stop.is_set():
            try:
                await send_cascade(store, broker, cascade_topic(settings))
                if time.monotonic() >= next_alert:
                    await to_thread.run_sync(overdue_requests, store, datetime.now(KAZAKHSTAN).date())
                    next_alert = time.monotonic() + OVERDUE_CHECK_SECONDS
            except Exception:  # the broker or the database away: the outbox keeps it, try again
                log.exception("cascade not sent yet")
            await pause(stop, 0.5)
    finally:
        await broker.stop()
