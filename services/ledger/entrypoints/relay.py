"""The relay: every stored event onto consent.events.v1, in store order, exactly once.

Each batch of events read from the store's notification log is published in ONE Kafka
transaction by a producer with a fixed transactional id. On start the producer fences any
predecessor (a crashed relay's open transaction is aborted) and the relay resumes after the
highest `position` in the topic's committed records. A batch is either wholly visible to
read_committed readers or not at all, so what the relay finds at the tail is exactly what was
published: no event is skipped, none is published twice. See docs/decisions/0006.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner, murmur2
from anyio import to_thread
from prometheus_client import Gauge

from services.ledger.adapters.leadership import Leadership, leadership_for
from services.ledger.application.ledger import Ledger
from services.ledger.application.outbox import Record, check_resumable, records_after
from services.ledger.bootstrap import LedgerServices
from services.platform.kafka import KafkaAccess
from services.platform.tasks import pause
from services.platform.topics import TopicSpec, ensure_topics, topic_partitions
from services.platform.topology import PARTITIONS

log = logging.getLogger(__name__)

PUBLISHED = Gauge("consent_relay_published_position", "Ledger position of the last event on consent.events.v1")
STORED = Gauge("consent_relay_stored_position", "Ledger position of the last event in the event store")
TAIL_WINDOW = 500  # records read back from each partition's end to find the last position
TAIL_SECONDS = 30.0  # reading a window that long means the broker is in trouble: pause and try again


@dataclass(frozen=True)
class RelayConfig:
    """Where and how the relay publishes, and how it reaches and authenticates to Kafka."""

    kafka: KafkaAccess
    topic: str = "consent.events.v1"
    transactional_id: str = "consent-ledger-relay"
    partitions: int = PARTITIONS
    replication: int = 1
    batch_size: int = 2000
    poll_seconds: float = 0.1


async def last_published_position(kafka: KafkaAccess, topic: str) -> tuple[int, str]:
    """The highest ledger position among the topic's committed records, with its hash ((0, "") when empty)."""
    partitions = await topic_partitions(kafka, topic)
    if not partitions:  # never "nothing published": that would publish everything again
        raise RuntimeError(f"the broker describes no partitions of {topic}")
    consumer = AIOKafkaConsumer(**kafka.options(), isolation_level="read_committed", enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)  # the last stable offset under read_committed
        tails = [await _tail(consumer, tp, ends[tp]) for tp in partitions]
        return max(tails, default=(0, ""))
    finally:
        await consumer.stop()


async def _tail(consumer: AIOKafkaConsumer, partition: TopicPartition, end: int) -> tuple[int, str]:
    """(position, hash) of the partition's last committed event; reads the whole window or raises."""
    start = end
    while start > 0:
        start, stop = max(0, start - TAIL_WINDOW), start
        consumer.seek(partition, start)
        best: tuple[int, str] = (0, "")
        deadline = time.monotonic() + TAIL_SECONDS
        while await consumer.position(partition) < stop:
            batch = await consumer.getmany(partition, timeout_ms=1000, max_records=TAIL_WINDOW)
            if not batch and time.monotonic() > deadline:
                raise TimeoutError(f"could not read the tail of {partition.topic}/{partition.partition} in time")
            for record in batch.get(partition, []):
                if record.offset < stop:
                    position = int(dict(record.headers).get("position", b"0"))
                    best = max(best, (position, orjson.loads(record.value).get("hash", "")))
        if best[0]:
            return best
    return (0, "")


class SubjectPartitioner:
    """aiokafka's default partitioner (murmur2 of the key, as Java clients choose), each key's hash remembered.

    aiokafka's murmur2 is pure Python: a third of the relay's time. A subject's events share its key, so
    the partition of a subject published lately is looked up, not hashed again; the partitions are the same.
    """

    def __init__(self, remembered: int = 1 << 16) -> None:
        self._hash = functools.lru_cache(maxsize=remembered)(murmur2)

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            chosen: int = DefaultPartitioner()(key, all_partitions, available)
            return chosen
        hashed: int = self._hash(key)
        return all_partitions[(hashed & 0x7FFFFFFF) % len(all_partitions)]


class Relay:
    """Publishes the event store to Kafka while it holds the store's leadership."""

    def __init__(self, ledger: Ledger, config: RelayConfig, leadership: Leadership) -> None:
        self.ledger = ledger
        self.config = config
        self.leadership = leadership
        self.published = 0
        self.leading = False  # True while this relay holds the lock and publishes (a follower waits)

    def lag(self) -> int:
        """Events stored but not yet on Kafka (as last seen)."""
        stored = self.ledger.recorder.max_notification_id() or 0
        STORED.set(stored)
        return max(0, stored - self.published)

    async def run(self, stop: asyncio.Event) -> None:
        """Lead and publish until `stop`; while Kafka or the lock is unavailable, wait and try again."""
        while not stop.is_set():
            leading = False
            try:
                leading = await to_thread.run_sync(self.leadership.try_acquire)
                if not leading:
                    await pause(stop, 2.0)
                    continue
                await self._publish_while_leading(stop)
            except (KafkaError, OSError) as error:
                log.warning("relay paused: %s; the ledger keeps accepting commands", error)
                await pause(stop, 2.0)
            except Exception:  # the store away, or a topic that does not match it: say so, try again
                log.exception("relay paused; the ledger keeps accepting commands")
                await pause(stop, 5.0)
            finally:
                if leading:
                    await to_thread.run_sync(self.leadership.release)
        await to_thread.run_sync(self.leadership.release)  # a follower's session, if any

    async def _publish_while_leading(self, stop: asyncio.Event) -> None:
        config = self.config
        await ensure_topics(config.kafka, [TopicSpec(config.topic, config.partitions, config.replication)])
        producer = AIOKafkaProducer(  # transactional, so idempotent with acks=all
            **config.kafka.options(), transactional_id=config.transactional_id, linger_ms=5,
            partitioner=SubjectPartitioner(),
        )  # fmt: skip
        try:
            await producer.start()  # fences a predecessor with the same transactional id
            position, topic_hash = await last_published_position(config.kafka, config.topic)
            await to_thread.run_sync(check_resumable, self.ledger, position, topic_hash)
            self.published = position
            PUBLISHED.set(self.published)
            log.info("relay leading; resuming after position %d", self.published)
            self.leading = True
            await self._publish_pages(producer, stop)
        finally:
            self.leading = False
            await producer.stop()

    async def _publish_pages(self, producer: AIOKafkaProducer, stop: asyncio.Event) -> None:
        """Publish page after page; the next page is read from the store while this one's transaction commits."""
        config = self.config
        read = self._read_after(self.published)
        try:
            while not stop.is_set():
                batch = await read
                if not batch:
                    await to_thread.run_sync(self.lag)
                    await pause(stop, config.poll_seconds)
                    read = self._read_after(self.published)
                    continue
                read = self._read_after(batch[-1].position)
                await _publish(producer, config.topic, batch)
                self.published = batch[-1].position
                log.debug("published positions %d..%d", batch[0].position, self.published)
                PUBLISHED.set(self.published)
        finally:
            read.cancel()  # a page read ahead and not published: the next leader reads it again
            with suppress(BaseException):
                await read

    def _read_after(self, position: int) -> asyncio.Task[list[Record]]:
        """Start reading the page after `position` (in a worker thread)."""
        return asyncio.ensure_future(to_thread.run_sync(records_after, self.ledger, position, self.config.batch_size))


async def _publish(producer: AIOKafkaProducer, topic: str, batch: Sequence[Record]) -> None:
    async with producer.transaction():
        sent = [await producer.send(topic, key=r.key, value=r.value, headers=r.headers) for r in batch]
        await asyncio.gather(*sent)


def relay_for(wired: LedgerServices) -> Relay:
    """The relay of a wired ledger, with its settings and the store's leadership lock."""
    settings = wired.settings
    config = RelayConfig(
        kafka=settings.kafka(),
        topic=settings.events_topic,
        transactional_id=settings.relay_transactional_id,
        partitions=settings.events_partitions,
        replication=settings.topic_replication,
        batch_size=settings.relay_batch_size,
    )
    return Relay(wired.ledger, config, leadership_for(settings.ledger_store))
