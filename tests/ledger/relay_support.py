"""Helpers for relay tests: fill a store fast, read a topic back."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import orjson
from aiokafka import AIOKafkaConsumer

from services.ledger.application.ledger import Ledger
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import Channel
from services.platform.kafka import KafkaAccess
from services.platform.topics import topic_partitions
from tests.ledger.conftest import at, ctx, tablet_consent


def fill(ledger: Ledger, subjects: int, *, batch: int = 250) -> list[UUID]:
    """Record a grant and an opt-out for `subjects` new subjects, many subjects per save (2 events each)."""
    ids: list[UUID] = []
    for start in range(0, subjects, batch):
        pending = []
        for n in range(start, min(subjects, start + batch)):
            subject = DataSubject.blank(uuid4(), at("2026-05-04"))
            subject.grant_consent(ctx(f"g{n}"), tablet_consent(), None)
            subject.opt_out_of_marketing(ctx(f"o{n}"), [Channel.SMS])
            pending.append(subject)
            ids.append(subject.id)
        ledger.save(*pending)
    return ids


async def read_topic(bootstrap: str, topic: str, *, isolation_level: str = "read_committed") -> list[dict[str, Any]]:
    """Every record of `topic` as (partition, offset, envelope) dicts, partition by partition."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level=isolation_level,
        enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    records: list[dict[str, Any]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=3000, max_records=5000):
            for part in batch.values():
                records += [
                    {"partition": r.partition, "offset": r.offset, "key": r.key, "envelope": orjson.loads(r.value)}
                    for r in part
                ]
    finally:
        await consumer.stop()
    return records


def exactly_once_problems(records: list[dict[str, Any]], stored: int) -> list[str]:
    """What breaks 'each stored event once, in order per subject' in these records."""
    positions = sorted(r["envelope"]["position"] for r in records)
    problems = []
    if positions != list(range(1, stored + 1)):
        duplicates = len(positions) - len(set(positions))
        missing = sorted(set(range(1, stored + 1)) - set(positions))[:5]
        problems.append(f"{len(positions)} records for {stored} events: {duplicates} duplicates, missing {missing}")
    last: dict[str, int] = {}
    for record in sorted(records, key=lambda r: (r["partition"], r["offset"])):
        envelope = record["envelope"]
        if record["key"] != envelope["subject"].encode():
            problems.append(f"event {envelope['id']} keyed {record['key']!r}, not by its subject")
        if envelope["subjectversion"] <= last.get(envelope["subject"], 0):
            problems.append(f"subject {envelope['subject']} out of order at version {envelope['subjectversion']}")
        last[envelope["subject"]] = envelope["subjectversion"]
    return problems


async def end_offsets(bootstrap: str, topic: str) -> int:
    """Records and transaction markers written so far, over all partitions: a cheap progress probe."""
    partitions = await topic_partitions(KafkaAccess(bootstrap), topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()
