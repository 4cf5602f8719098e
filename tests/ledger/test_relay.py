"""The relay puts every stored event on consent.events.v1 exactly once, in order, with the store's hash."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiokafka.partitioner import DefaultPartitioner

from schemas.chain import chain_problems
from services.devstack.kafka import LocalKafka
from services.devstack.processes import free_port
from services.ledger.adapters.leadership import leadership_for
from services.ledger.application.contract import to_envelope
from services.ledger.application.ledger import Ledger
from services.ledger.entrypoints.relay import Relay, RelayConfig, SubjectPartitioner
from services.platform.kafka import KafkaAccess
from tests.conftest import NewTopicFactory
from tests.ledger.conftest import ledger_env, make_ledger
from tests.ledger.relay_support import end_offsets, exactly_once_problems, fill, read_topic


async def relay_until_published(relays: list[Relay], stored: int, timeout: float = 60) -> None:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    deadline = time.monotonic() + timeout
    while max(relay.published for relay in relays) < stored and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*tasks)


async def test_every_stored_event_is_on_the_topic_once_in_order_with_the_stores_hash(
    ledger: Ledger, store_url: str, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic("consent.events", partitions=3)
    subjects = fill(ledger, 150)
    relay = Relay(
        ledger,
        RelayConfig(KafkaAccess(kafka_bootstrap), topic, f"relay-{topic}", batch_size=100),
        leadership_for(store_url),
    )

    await relay_until_published([relay], 300)
    records = await read_topic(kafka_bootstrap, topic)

    assert exactly_once_problems(records, 300) == []
    on_kafka = {r["envelope"]["id"]: r["envelope"] for r in records}
    stored = [to_envelope(event) for event in ledger.history(subjects[0])[0]]
    assert [on_kafka[e["id"]]["hash"] for e in stored] == [e["hash"] for e in stored]
    assert chain_problems(sorted(on_kafka.values(), key=lambda e: e["position"])) == []


async def test_two_relays_on_one_store_publish_each_event_once(
    ledger: Ledger, store_url: str, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic("consent.events", partitions=3)
    fill(ledger, 100)
    second = make_ledger(store_url)
    relays = [
        Relay(
            app,
            RelayConfig(KafkaAccess(kafka_bootstrap), topic, f"relay-{topic}", batch_size=50),
            leadership_for(store_url),
        )
        for app in (ledger, second)
    ]

    await relay_until_published(relays, 200)
    second.close()

    assert exactly_once_problems(await read_topic(kafka_bootstrap, topic), 200) == []
    assert sorted(relay.published for relay in relays)[0] == 0  # the other one never led


async def test_while_kafka_is_down_commands_are_stored_and_the_relay_catches_up_when_it_returns(
    ledger: Ledger, store_url: str
) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    relay = Relay(
        ledger, RelayConfig(KafkaAccess(bootstrap), "consent.events.v1", "relay-outage"), leadership_for(store_url)
    )
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    fill(ledger, 20)  # accepted and stored with no broker anywhere
    await asyncio.sleep(1)
    assert relay.published == 0

    broker = await asyncio.to_thread(LocalKafka(broker_port=port).start)
    try:
        deadline = time.monotonic() + 60
        while relay.published < 40 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        stop.set()
        await running
        records = await read_topic(bootstrap, "consent.events.v1")
    finally:
        await asyncio.to_thread(broker.stop)

    assert exactly_once_problems(records, 40) == []


def relay_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "relay"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


async def test_a_relay_killed_mid_stream_and_restarted_leaves_each_event_once_in_order(
    tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    store_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    ledger = make_ledger(store_url)
    stored = 2 * len(await asyncio.to_thread(fill, ledger, 2500))
    ledger.close()
    topic = await new_topic("consent.events", partitions=3)
    env = ledger_env(
        store_url, kafka_bootstrap,
        events_topic=topic, relay_transactional_id=f"relay-{topic}", relay_batch_size="50",
    )  # fmt: skip
    log = tmp_path / "relay.log"

    first = relay_process(env, log)
    try:
        while await end_offsets(kafka_bootstrap, topic) < stored // 4:
            assert first.poll() is None, log.read_text()
            await asyncio.sleep(0.02)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    at_kill = len(await read_topic(kafka_bootstrap, topic))

    second = relay_process(env, log)
    try:
        deadline = time.monotonic() + 120
        while len(records := await read_topic(kafka_bootstrap, topic)) < stored and time.monotonic() < deadline:
            assert second.poll() is None, log.read_text()
            await asyncio.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0

    assert 0 < at_kill < stored  # the kill came in the middle of publishing
    assert exactly_once_problems(records, stored) == []


async def test_a_relay_whose_store_is_behind_the_topic_publishes_nothing(
    tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic("consent.events", partitions=3)
    ahead_url, behind_url = (f"sqlite:///{tmp_path / name}" for name in ("ahead.sqlite3", "behind.sqlite3"))
    ahead = make_ledger(ahead_url)
    fill(ahead, 10)
    config = RelayConfig(KafkaAccess(kafka_bootstrap), topic, f"relay-{topic}")
    await relay_until_published([Relay(ahead, config, leadership_for(ahead_url))], 20)
    ahead.close()
    behind = make_ledger(behind_url)  # e.g. the store restored from a backup older than the topic
    fill(behind, 15)

    relay = Relay(behind, config, leadership_for(behind_url))
    await relay_until_published([relay], 30, timeout=5)
    behind.close()

    assert relay.published == 0
    assert len(await read_topic(kafka_bootstrap, topic)) == 20


def test_the_relays_partitioner_puts_each_key_where_the_default_partitioner_does() -> None:
    partitioner, default, partitions = SubjectPartitioner(remembered=64), DefaultPartitioner(), list(range(6))
    keys = [str(uuid.uuid4()).encode() for _ in range(500)]

    chosen = [partitioner(key, partitions, partitions) for key in keys + keys]  # the second time from memory

    assert chosen == [default(key, partitions, partitions) for key in keys + keys]
    assert set(chosen) == set(partitions)
