"""1,000 commands on Kafka taken in batches by a real ledger process on PostgreSQL: each good one recorded once.

10 of them are refused by a rule and 5 are malformed: those 15 go to the dead letters with their rule.
Then the same after a kill -9 of the ledger in the middle of the run, the consumer group rewound to
the first record (as if the ledger had died after every save and before any offset commit) and a
restart: nothing lost, nothing doubled — every record delivered again is a repeat of its command id.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from schemas import kit
from schemas.topics import sender_topic
from services.ledger.adapters.pii.sealing import SealingKey
from services.ledger.entrypoints.kafka import GROUP_ID
from tests.conftest import NewTopicFactory, inbound_families
from tests.integration.service_processes import service
from tests.ledger.test_http_api import grant_body

SEALING = SealingKey.generate()
GRANTS, OPT_OUTS, REFUSED, MALFORMED = 700, 285, 10, 5  # 985 good commands, 1,000 records
PARTITIONS = 3


@pytest.fixture
def store(postgres_database: dict[str, str]) -> str:
    db = postgres_database
    return f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"


@pytest.fixture
async def topics(new_topic: NewTopicFactory) -> dict[str, str]:
    """The topic families and topics of the ledger's settings (CONSENT_<NAME>_TOPIC)."""
    commands, acks = await inbound_families(new_topic, partitions=PARTITIONS)
    return {
        "commands": commands,
        "acks": acks,
        "deadletter": await new_topic("consent.deadletter"),
        "events": await new_topic("consent.events"),
    }


def tablet(topics: dict[str, str]) -> str:
    """The tablet channel's own topic, where these commands are sent."""
    return sender_topic(topics["commands"], "tablet")


def ledger_env(store: str, bootstrap: str, topics: dict[str, str]) -> dict[str, str]:
    return {
        "CONSENT_KAFKA_BOOTSTRAP": bootstrap,
        "CONSENT_API_TOKENS": orjson.dumps({"t" * 24: {"name": "operator", "scopes": ["read"]}}).decode(),
        **{f"CONSENT_{name.upper()}_TOPIC": topic for name, topic in topics.items()},
        "CONSENT_LEDGER_STORE": store,
        "CONSENT_LEDGER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CONSENT_LEDGER_IDENTITY_SECRET": "identity-secret-for-tests-0123456789",
        "CONSENT_LEDGER_SEALING_KEY": SEALING.private_base64(),
        "CONSENT_LEDGER_RUN_RELAY": "false",
        "CONSENT_SCHEDULER_INTERVAL_SECONDS": "0",
    }


def records() -> tuple[list[tuple[bytes, bytes]], dict[bytes, str]]:
    """The 1,000 records in the order sent, and the rule each of the 15 bad ones must be dead-lettered with."""
    subjects = [str(uuid.uuid4()) for _ in range(GRANTS)]
    good = [kit.command_record(grant_body(f"grant-{s}", type="GrantConsent", subject_id=s,
                                          pii={"name": "Synthetic Batchova"}), SEALING.public_base64())
            for s in subjects]  # fmt: skip
    good += [
        (s.encode(), orjson.dumps({"type": "OptOutOfMarketing", "subject_id": s, "command_id": f"out-{s}",
                                   "channels": ["sms"]}))
        for s in subjects[:OPT_OUTS]  # after its grant, on the same partition (same key)
    ]  # fmt: skip
    bad: dict[bytes, str] = {}
    keys: list[bytes] = []
    for n in range(REFUSED):  # no consent yet: consent_none
        s = str(uuid.uuid4())
        keys.append(s.encode())
        refused = {"type": "OptInToMarketing", "subject_id": s, "command_id": f"in-{n}", "channels": ["sms"]}
        bad[orjson.dumps(refused)] = "consent_none"
    for n in range(MALFORMED):
        keys.append(str(uuid.uuid4()).encode())
        bad[b'{"type": "GrantConsent", "not json' + str(n).encode()] = "malformed"
    sent = list(good)
    for index, (key, value) in enumerate(zip(keys, bad, strict=True)):  # spread among the good ones
        sent.insert(index * 60 + 30, (key, value))
    return sent, bad


async def send(bootstrap: str, topic: str, sent: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for key, value in sent:
            await producer.send(topic, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()


def stored(store: str) -> tuple[int, Counter[str]]:
    """Events in the ledger's store, and how many events each command id recorded."""
    with psycopg.connect(store) as db:
        rows = db.execute("SELECT state FROM ledger_events").fetchall()
    return len(rows), Counter(orjson.loads(bytes(row[0]))["command_id"] for row in rows)


async def dead_letters(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        end = (await consumer.end_offsets([partition]))[partition]
        letters: list[dict[str, Any]] = []
        while len(letters) < end:
            for batch in (await consumer.getmany(timeout_ms=2000)).values():
                letters += [orjson.loads(record.value) for record in batch]
        return letters
    finally:
        await consumer.stop()


async def settled(store: str, bootstrap: str, topics: dict[str, str], timeout: float = 120) -> list[dict[str, Any]]:
    """Wait until the 985 good commands are stored and the 15 bad records dead-lettered; the dead letters."""
    deadline = time.monotonic() + timeout
    while True:
        letters = await dead_letters(bootstrap, topics["deadletter"])
        places = {(letter["partition"], letter["offset"]) for letter in letters}
        if stored(store)[0] >= GRANTS + OPT_OUTS and len(places) >= REFUSED + MALFORMED:
            await asyncio.sleep(2)  # a double that slipped through would show up by now
            return await dead_letters(bootstrap, topics["deadletter"])
        assert time.monotonic() < deadline, f"not settled within {timeout} s: {stored(store)[0]} events"
        await asyncio.sleep(0.5)


def check(store: str, letters: list[dict[str, Any]], bad: dict[bytes, str]) -> None:
    """Exactly the 985 good commands once each; each bad record dead-lettered with its rule."""
    count, per_command = stored(store)
    assert count == GRANTS + OPT_OUTS
    assert len(per_command) == GRANTS + OPT_OUTS
    assert set(per_command.values()) == {1}
    assert all(command_id.startswith(("grant-", "out-")) for command_id in per_command)
    expected = {hashlib.sha256(value).hexdigest(): rule for value, rule in bad.items()}
    assert {letter["value_sha256"]: letter["rule"] for letter in letters} == expected
    assert len({(letter["partition"], letter["offset"]) for letter in letters}) == REFUSED + MALFORMED


async def test_a_batch_of_1000_commands_records_the_985_good_ones_once_and_dead_letters_the_15_others(
    store: str, kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    sent, bad = records()
    await send(kafka_bootstrap, tablet(topics), sent)

    with service("ledger", ledger_env(store, kafka_bootstrap, topics), tmp_path / "ledger.log"):
        letters = await settled(store, kafka_bootstrap, topics)

    check(store, letters, bad)
    assert len(letters) == REFUSED + MALFORMED  # no crash: each dead letter once


async def rewind(bootstrap: str, topic: str, timeout: float = 90) -> None:
    """Commit offset 0 on every partition for the ledger's group, once the killed member has left it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP_ID, enable_auto_commit=False)
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        while True:
            try:
                await consumer.commit(dict.fromkeys(partitions, 0))
                return
            except KafkaError:  # the group still counts the killed member until its session times out
                assert time.monotonic() < deadline, "the killed ledger never left its consumer group"
                await asyncio.sleep(1)
    finally:
        await consumer.stop()


def wait_for_some(store: str, process: Any, log: Path) -> int:
    """Poll the store until some of the commands are recorded, then kill -9 the ledger; how many were."""
    deadline = time.monotonic() + 120
    while (count := stored(store)[0]) == 0:
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return count


async def test_after_a_kill_9_in_the_middle_and_a_restart_nothing_is_lost_and_nothing_doubled(
    store: str, kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    sent, bad = records()
    env = ledger_env(store, kafka_bootstrap, topics)
    with service("ledger", env, tmp_path / "first.log") as (_, first):
        await send(kafka_bootstrap, tablet(topics), sent)
        at_kill = wait_for_some(store, first, tmp_path / "first.log")
    at_restart, killed = stored(store)[0], time.monotonic()
    await rewind(kafka_bootstrap, tablet(topics))  # the worst crash: saved, but no offset ever committed
    rewound = time.monotonic() - killed

    with service("ledger", env, tmp_path / "second.log"):
        letters = await settled(store, kafka_bootstrap, topics)

        read_again = await committed_to_the_end(kafka_bootstrap, tablet(topics))

    print(f"\nkill -9 after {at_kill} of {GRANTS + OPT_OUTS} events were seen, {at_restart} stored at the restart; "
          f"the group was rewound {rewound:.1f} s after the kill")  # fmt: skip
    assert 0 < at_kill <= at_restart < GRANTS + OPT_OUTS, "the kill came in the middle of the run"
    assert read_again == len(sent)  # from offset 0: every command saved before the kill came again
    check(store, letters, bad)


async def committed_to_the_end(bootstrap: str, topic: str, timeout: float = 60) -> int:
    """Wait until the ledger's group has committed every partition to its end; the records that makes."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP_ID, enable_auto_commit=False)
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(partitions)
        while True:
            done = [await consumer.committed(partition) or 0 for partition in partitions]
            if done == [ends[partition] for partition in partitions]:
                return sum(done)
            assert time.monotonic() < deadline, f"committed {done} of {ends}"
            await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
