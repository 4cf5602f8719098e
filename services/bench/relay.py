"""relay: the ledger's relay publishing the synthetic ledger to a new topic, beside a raw transactional producer.

The relay (services.ledger.entrypoints.relay.Relay, with the store's leadership lock) runs in this
process and is timed from its first published batch to its last. The ceiling publishes the same
records, built beforehand, with a plain transactional aiokafka producer in transactions of the
same size on the same broker: what Kafka takes without the store read and the envelope building.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from services.bench.environment import Bench
from services.bench.harness import Line, Meter, line, rate
from services.bench.shared import PAGE, PARTITIONS, events_topic, filled
from services.ledger.adapters.leadership import leadership_for
from services.ledger.entrypoints.relay import Relay, RelayConfig
from services.platform.kafka import KafkaAccess

POLL_SECONDS = 0.01


async def _run_relay(relay: Relay, count: int, progress: Callable[[int], None]) -> float:
    """Seconds from the relay's first published batch to its last, scaled to `count` events."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    first, began, seen = 0.0, 0, 0
    try:
        while relay.published < count:
            await asyncio.sleep(POLL_SECONDS)
            if relay.published and not first:
                first, began = time.perf_counter(), relay.published
            progress(relay.published - seen)
            seen = relay.published
            if task.done():
                task.result()
        return (time.perf_counter() - first) * count / max(count - began, 1)
    finally:
        stop.set()
        await task


def relay(bench: Bench) -> Line:
    """Events/s of the relay beside the raw transactional producer of the same records."""
    ledger = filled(bench)
    _, raw_seconds = events_topic(bench)
    topic = bench.topic("relay", PARTITIONS)
    config = RelayConfig(
        kafka=KafkaAccess(bench.kafka()), topic=topic, transactional_id=f"bench-relay-{uuid.uuid4().hex[:8]}",
        partitions=PARTITIONS, batch_size=PAGE,
    )  # fmt: skip
    relay = Relay(ledger.wired.ledger, config, leadership_for(ledger.url, name=f"bench-relay-{topic}"))
    meter = Meter().start()
    seconds = asyncio.run(_run_relay(relay, ledger.events, bench.task("relay", ledger.events)))
    usage = meter.stop()
    name = "raw transactional aiokafka producer, same records"
    ceiling = rate(ledger.events, raw_seconds)
    return line("relay", rate(ledger.events, seconds), ceiling, name, events=ledger.events, usage=usage)
