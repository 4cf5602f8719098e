"""The projector's consumer on the real broker: nothing is lost when applying a batch fails."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import Channel
from services.platform.kafka import KafkaAccess
from services.platform.reading import Batch, read_to_end
from services.projector.consumer import projector_broker
from services.projector.settings import ProjectorSettings
from services.projector.store import Consumed, ProjectionStore
from tests.conftest import NewTopicFactory
from tests.ledger.scenario_support import CONSENT_GIVEN_ON, consent_terms, ctx
from tests.projector import published


class FailsOnce(ProjectionStore):
    """A store whose first write fails, as a database restarting would."""

    failed = False

    def apply(self, topic: str, records: Any) -> int:
        if not self.failed:
            self.failed = True
            raise RuntimeError("the database went away")
        return super().apply(topic, records)


def histories(subjects: int) -> list[bytes]:
    values = []
    for n in range(subjects):
        subject = DataSubject.blank(uuid.uuid4(), ctx(0).now)
        subject.grant_consent(ctx(f"g{n}", on=CONSENT_GIVEN_ON), consent_terms(), None)
        subject.opt_out_of_marketing(ctx(f"o{n}"), [Channel.SMS])
        values += [orjson.dumps(e.document) for e in published(subject)]
    return values


async def test_a_batch_that_fails_to_apply_is_read_again_and_a_record_fitting_no_contract_is_set_aside(
    tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    settings = ProjectorSettings(
        kafka_bootstrap=kafka_bootstrap, projector_store=f"sqlite:///{tmp_path / 'p.sqlite3'}",
        events_topic=await new_topic("consent.events", partitions=2),
        deadletter_topic=await new_topic("consent.deadletter"), projector_group_id=f"p-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    store = FailsOnce(settings.projector_store)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    unknown = b'{"type": "kz.esperance.consent.v1.Unknown", "id": "x", "note": "Synthetic Strangerova"}'
    values = [*histories(20), unknown]
    for value in values:
        await producer.send_and_wait(settings.events_topic, key=b"k", value=value)
    await producer.stop()
    broker = projector_broker(store, settings)

    await broker.start()
    deadline = time.monotonic() + 30
    while sum(r[1] for r in store.dump()["subject_state"]) < 40 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await broker.stop()

    assert store.failed
    assert sum(row[1] for row in store.dump()["subject_state"]) == 40  # every event, none lost to the failure
    assert sum(store.next_offsets(settings.events_topic).values()) == len(values)  # past the set-aside record
    store.close()
    letters: list[bytes] = []

    async def collect(batch: Batch) -> None:
        letters.extend(record.value for record in batch)

    await read_to_end(KafkaAccess(kafka_bootstrap), settings.deadletter_topic, collect)
    described = {(letter["rule"], letter["value_sha256"]) for letter in map(orjson.loads, letters)}
    assert described == {("contract", hashlib.sha256(unknown).hexdigest())}  # once per reading of the record
    assert not any(b"Strangerova" in letter for letter in letters)  # where the record is and why, never what it held


def test_records_dead_lettered_still_move_the_offset(tmp_path: Path) -> None:
    store = ProjectionStore(f"sqlite:///{tmp_path / 'p.sqlite3'}")

    assert store.apply("t", [Consumed(0, 0, None), Consumed(0, 1, None)]) == 2
    assert store.next_offsets("t") == {0: 2}
    store.close()


async def test_a_store_restored_from_an_old_backup_or_of_an_old_version_catches_up_from_where_it_stands(
    tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    settings = ProjectorSettings(
        kafka_bootstrap=kafka_bootstrap, projector_store=f"sqlite:///{tmp_path / 'p.sqlite3'}",
        events_topic=await new_topic("consent.events", partitions=2),
        deadletter_topic=await new_topic("consent.deadletter"), projector_group_id=f"p-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    for value in histories(10):
        await producer.send_and_wait(settings.events_topic, key=b"k", value=value)
    await producer.stop()

    async def project(store: ProjectionStore) -> int:
        """Run the projector (same consumer group every time) until the store holds all 20 events."""
        broker = projector_broker(store, settings)
        await broker.start()
        deadline = time.monotonic() + 30
        while sum(store.next_offsets(settings.events_topic).values()) < 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await broker.stop()
        applied = sum(row[1] for row in store.dump()["subject_state"])
        store.close()
        return applied

    first = await project(ProjectionStore(settings.projector_store))
    old = sqlite3.connect(tmp_path / "p.sqlite3")  # as a store written by an older projector would look
    old.execute("UPDATE projector_meta SET value = '1' WHERE name = 'read_model_version'")
    old.commit()
    old.close()
    rebuilt = await project(ProjectionStore(settings.projector_store))  # its tables dropped, its offsets with them
    restored = await project(ProjectionStore(f"sqlite:///{tmp_path / 'empty-backup.sqlite3'}"))

    assert (first, rebuilt, restored) == (20, 20, 20)  # the group's committed offsets did not make it skip
