"""What the survival run watches: which ledger's relay leads, how far it published, how far the projectors read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.topics import EVENTS
from services.devstack.stack import RunningService, Stack
from services.platform.kafka import KafkaAccess
from services.platform.topics import topic_partitions
from services.platform.topology import ADMIN

POLL_SECONDS = 0.1
TAIL_WINDOW = 200  # records read back from a partition's end to find its last one
TAIL_SECONDS = 30.0


class Probe:
    """Reads the stack's state from outside: the ledgers' /health, the topic's end offsets, the stores' rows."""

    def __init__(self, stack: Stack, starter: ThreadPoolExecutor) -> None:
        self.stack = stack
        self.starter = starter
        self.kafka: KafkaAccess = stack.kafka_access(ADMIN)
        self.ledger_store = stack.ledgers[0].env["CONSENT_LEDGER_STORE"]
        self.projector_store = stack.projectors[0].env["CONSENT_PROJECTOR_STORE"]

    async def start(self, start: Callable[[], object]) -> None:
        """Start a part again on the starter thread, which outlives the stack.

        A child process dies with the thread that started it (PR_SET_PDEATHSIG), so a part restarted
        from a passing worker thread would be stopped when that thread ends, not by the stack.
        """
        await asyncio.get_running_loop().run_in_executor(self.starter, start)

    async def relay(self, ledger: RunningService) -> tuple[bool, int]:
        """(leading, published position) of one ledger instance's relay; (False, 0) while it does not answer."""
        if ledger.pid is None:
            return False, 0
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                relay = (await client.get(f"{ledger.url}/health")).json()["details"]["relay"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return False, 0
        return bool(relay.get("leading")), int(relay.get("published_position") or 0)

    async def leader(self) -> tuple[RunningService, int] | None:
        """The ledger instance whose relay leads, with its published position (None while none does)."""
        for ledger in self.stack.ledgers:
            leading, published = await self.relay(ledger)
            if leading:
                return ledger, published
        return None

    def stored(self) -> int:
        """The highest position in the event store."""
        with psycopg.connect(self.ledger_store, connect_timeout=5) as connection:
            row = connection.execute("SELECT max(notification_id) FROM ledger_events").fetchone()
        return int(row[0] or 0) if row else 0

    def projected(self) -> dict[int, int]:
        """Per partition of consent.events.v1, the next offset the shared read model will apply."""
        with psycopg.connect(self.projector_store, connect_timeout=5) as connection:
            rows = connection.execute(
                "SELECT partition_id, next_offset FROM projector_offsets WHERE topic = %s", (EVENTS,)
            ).fetchall()
        return {int(partition): int(offset) for partition, offset in rows}

    def cascade_rows(self) -> tuple[int, int]:
        """(recorded, sent) rows of the projectors' card-cascade outbox."""
        with psycopg.connect(self.projector_store, connect_timeout=5) as connection:
            row = connection.execute("SELECT count(*), coalesce(sum(sent), 0) FROM cascade_outbox").fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def published_offsets(self) -> dict[int, int]:
        """Per partition of consent.events.v1, one past the last record read_committed readers see now.

        Not the end offset itself: each relay transaction ends with a marker the readers never get, so
        a read model that holds every record stands below the end offset. The last record is read back.
        """
        partitions = await topic_partitions(self.kafka, EVENTS)
        consumer = AIOKafkaConsumer(**self.kafka.options(), isolation_level="read_committed", enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            return {tp.partition: await _after_last_record(consumer, tp, ends[tp]) for tp in partitions}
        finally:
            await consumer.stop()

    async def projected_up_to(self, ends: dict[int, int]) -> bool:
        """True once the read model holds every record below `ends` (published_offsets; the database away: False)."""
        try:
            done = await asyncio.to_thread(self.projected)
        except psycopg.Error:
            return False
        return all(done.get(partition, 0) >= end for partition, end in ends.items())


async def _after_last_record(consumer: AIOKafkaConsumer, partition: TopicPartition, end: int) -> int:
    """One past the offset of the partition's last committed record below `end` (0 if it has none)."""
    start = end
    while start > 0:
        start = max(0, start - TAIL_WINDOW)
        consumer.seek(partition, start)
        last, deadline = -1, time.monotonic() + TAIL_SECONDS
        while await consumer.position(partition) < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read the tail of {partition.topic}/{partition.partition} in time")
            fetched = await consumer.getmany(partition, timeout_ms=1000)
            last = max([last, *(record.offset for record in fetched.get(partition, []) if record.offset < end)])
        if last >= 0:
            return last + 1
    return 0


async def wait_until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> float:
    """Poll `check` until it is true; return the seconds it took, or raise TimeoutError naming `what`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise TimeoutError(f"{what}: not within {within:.0f} s")
        await asyncio.sleep(POLL_SECONDS)
    return time.monotonic() - started
