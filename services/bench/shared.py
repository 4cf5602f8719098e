"""What several paths measure on: one synthetic ledger filled once per run, and its events on a topic."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from aiokafka import AIOKafkaProducer

from services.bench.environment import Bench
from services.bench.harness import stopwatch
from services.bench.synthetic import Secrets, fill
from services.ledger.application.outbox import Record, records_after
from services.ledger.bootstrap import LedgerServices

DEFAULT_EVENTS = 100_000
PAGE = 2_000  # events per read of the store and per Kafka transaction, as the relay's default batch
PARTITIONS = 6  # as consent.events.v1 is created


@dataclass(frozen=True)
class Filled:
    """A ledger holding `events` synthetic events of `subjects`."""

    url: str
    wired: LedgerServices
    secrets: Secrets
    events: int
    subjects: list[UUID]


def filled(bench: Bench) -> Filled:
    """The run's synthetic ledger (filled on first use, closed when the bench ends)."""
    if "filled" not in bench.shared:
        events, secrets, url = bench.size(DEFAULT_EVENTS), Secrets.fresh(), bench.store_url("filled")
        wired = secrets.wired(url)
        bench.stack.callback(wired.close)
        subjects = fill(wired.ledger, events, bench.task(f"filling a synthetic ledger ({bench.kind})", events))
        bench.shared["filled"] = Filled(url, wired, secrets, events, subjects)
    found: Filled = bench.shared["filled"]
    return found


def stored_records(ledger: Filled) -> list[Record]:
    """Every stored event as the relay makes its Kafka record (envelope, canonical bytes, headers)."""
    records: list[Record] = []
    while len(records) < ledger.events:
        records += records_after(ledger.wired.ledger, records[-1].position if records else 0, PAGE)
    return records


async def publish(bootstrap: str, topic: str, records: Sequence[Record], transactional_id: str) -> None:
    """Publish `records` as the relay does, in transactions of PAGE records, with a plain aiokafka producer."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id, linger_ms=5)
    await producer.start()
    try:
        for first in range(0, len(records), PAGE):
            async with producer.transaction():
                batch = records[first : first + PAGE]
                sent = [await producer.send(topic, key=r.key, value=r.value, headers=r.headers) for r in batch]
                await asyncio.gather(*sent)
    finally:
        await producer.stop()


def events_topic(bench: Bench) -> tuple[str, float]:
    """A topic holding the synthetic ledger's events, and the seconds the raw producer took to publish them."""
    if "events_topic" not in bench.shared:
        ledger = filled(bench)
        records = stored_records(ledger)
        topic = bench.topic("events", PARTITIONS)
        with stopwatch() as took:
            asyncio.run(publish(bench.kafka(), topic, records, f"{topic}.raw"))
        bench.shared["events_topic"] = (topic, took[0])
    found: tuple[str, float] = bench.shared["events_topic"]
    return found
