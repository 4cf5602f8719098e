"""kafka_commands: sealed GrantConsent records on a channel's topic applied by the ledger's own consumer.

The records are produced first (not timed); then the ledger's command consumer
(`run_command_consumer`, as the ledger process runs it) is started in this process and timed from
the first event stored to the last. The ceiling is the slower of reading the same records raw from
the topic and raw store commits on a store of the same kind: one transaction per poll batch
(BATCH_RECORDS rows of the same size, one statement), as the consumer saves a batch. The raw
produce rate of the same records is given beside it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table

from schemas.topics import sender_topic
from services.bench.environment import Bench
from services.bench.harness import Line, Meter, line, rate, stopwatch
from services.bench.synthetic import Secrets, kafka_grant
from services.ledger.bootstrap import LedgerServices
from services.ledger.entrypoints.kafka import BATCH_RECORDS, run_command_consumer
from services.platform.sql import begin, engine_for

DEFAULT = 5_000
POLL_SECONDS = 0.02
SCRATCH = Table("bench_commits", MetaData(), Column("n", Integer, primary_key=True), Column("body", LargeBinary))


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    """Send `records` (key, value) to `topic`, acks from all replicas; return the seconds it took."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        with stopwatch() as took:
            sent = [await producer.send(topic, key=key, value=value) for key, value in records]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return took[0]


async def consume(bootstrap: str, topic: str, count: int) -> float:
    """Read `count` records of `topic` from its start; return the seconds from the first to the last."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    seen, first = 0, 0.0
    try:
        while seen < count:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                first = first or time.perf_counter()
                seen += len(records)
    finally:
        await consumer.stop()
    return time.perf_counter() - first


async def _apply(wired: LedgerServices, count: int, progress: Callable[[int], None]) -> float:
    """Run the ledger's consumer until `count` events are stored; seconds from the first event to the last."""
    stop = asyncio.Event()
    consumer = asyncio.create_task(run_command_consumer(wired, stop))
    stored, first, began = 0, 0.0, 0
    try:
        while stored < count:
            await asyncio.sleep(POLL_SECONDS)
            now = await asyncio.to_thread(wired.ledger.recorder.max_notification_id) or 0
            if now and not first:
                first, began = time.perf_counter(), now
            progress(now - stored)
            stored = now
            if consumer.done():
                consumer.result()  # raises what stopped it
        return (time.perf_counter() - first) * count / max(count - began, 1)
    finally:
        stop.set()
        await consumer


def raw_commits(url: str, bodies: list[bytes]) -> float:
    """Rows/s of these bodies inserted BATCH_RECORDS to a transaction, one after another, on a store like ours."""
    engine = engine_for(url, max_connections=1)
    try:
        SCRATCH.create(engine)
        rows = [{"n": n, "body": body} for n, body in enumerate(bodies)]
        with stopwatch() as took:
            for first in range(0, len(rows), BATCH_RECORDS):
                with begin(engine) as connection:
                    connection.execute(SCRATCH.insert(), rows[first : first + BATCH_RECORDS])
        return rate(len(bodies), took[0])
    finally:
        engine.dispose()


def kafka_commands(bench: Bench) -> Line:
    """Commands/s of the ledger's Kafka consumer beside a raw read of the records and raw batched commits."""
    count, bootstrap, secrets = bench.size(DEFAULT), bench.kafka(), Secrets.fresh()
    commands, acks = bench.families("kafka_commands")
    tablet = sender_topic(commands, "tablet")
    records = [kafka_grant(n, secrets.sealing_key.public_base64())[1:] for n in range(count)]
    produced = asyncio.run(produce(bootstrap, tablet, records))
    consumed = asyncio.run(consume(bootstrap, tablet, count))
    wired = secrets.wired(
        bench.store_url("ledger"), kafka_bootstrap=bootstrap, commands_topic=commands,
        acks_topic=acks, deadletter_topic=bench.topic("deadletter"), ledger_run_relay=False,
    )  # fmt: skip
    try:
        meter = Meter().start()
        seconds = asyncio.run(_apply(wired, count, bench.task("kafka_commands: ledger consumer", count)))
        usage = meter.stop()
    finally:
        wired.close()
    commits, read = raw_commits(bench.store_url("commits"), [value for _, value in records]), rate(count, consumed)
    detail = {"raw_produce_per_s": rate(count, produced), "raw_consume_per_s": read, "raw_commit_rows_per_s": commits}
    name = f"raw read of the records, raw {bench.kind} commits of {BATCH_RECORDS} rows each: the slower"
    ceiling = min(commits, read)
    return line("kafka_commands", rate(count, seconds), ceiling, name, events=count, usage=usage, detail=detail)
