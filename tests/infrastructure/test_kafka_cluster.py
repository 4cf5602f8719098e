"""The authenticated cluster: three KRaft nodes, SCRAM principals and the topology's ACLs, with a ledger on it.

What a subscriber system's principal may not do, it cannot: write events, confirm for another system,
claim another actor, read the commands, join another system's group. What it may do, it can.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError
from confluent_kafka.admin import ConfigResource, ResourceType

from schemas.topics import DEADLETTER, EVENTS, acks_topic, commands_topic
from services.devstack.cluster import LocalKafkaCluster
from services.devstack.secrets import completed, kafka_passwords
from services.platform.kafka import KafkaAccess
from services.platform.topology import CLUSTER_MIN_INSYNC, CLUSTER_REPLICATION, PARTITIONS, subscriber_group
from tests.integration.service_processes import service


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalKafkaCluster]:
    with LocalKafkaCluster(kafka_passwords({})) as running:
        yield running


async def produce(access: KafkaAccess, topic: str, value: bytes, key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(**access.options(), enable_idempotence=True, request_timeout_ms=10_000)
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=key), 20)
    finally:
        await producer.stop()


async def read(access: KafkaAccess, topic: str, group: str | None, *, until: int = 1, seconds: float = 20) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, **access.options(), group_id=group, auto_offset_reset="earliest")
    records: list[Any] = []
    try:
        await consumer.start()
        async with asyncio.timeout(seconds):
            while len(records) < until:
                for batch in (await consumer.getmany(timeout_ms=1000)).values():
                    records += batch
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return records


async def dead_letters_of(access: KafkaAccess, key: bytes, seconds: float = 60) -> list[Any]:
    """The dead letters of records keyed `key`, once there is one: those of the module's other tests come first."""
    consumer = AIOKafkaConsumer(DEADLETTER, **access.options(), auto_offset_reset="earliest")
    found: list[Any] = []
    try:
        await consumer.start()
        async with asyncio.timeout(seconds):
            while not found:
                for batch in (await consumer.getmany(timeout_ms=1000)).values():
                    found += [record for record in batch if record.key == key]
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return found


def test_every_topic_is_replicated_three_times_with_two_in_sync(cluster: LocalKafkaCluster) -> None:
    admin = cluster.admin_client()
    topics = admin.list_topics(timeout=20).topics
    consent = {name: meta for name, meta in topics.items() if name.startswith("consent.")}
    assert {EVENTS, DEADLETTER, acks_topic("loyalty"), commands_topic("tablet")} <= consent.keys()
    assert {len(meta.partitions) for meta in consent.values()} == {PARTITIONS}
    assert {len(p.replicas) for meta in consent.values() for p in meta.partitions.values()} == {CLUSTER_REPLICATION}
    configs = admin.describe_configs([ConfigResource(ResourceType.TOPIC, EVENTS)])
    config = next(iter(configs.values())).result(timeout=20)
    assert config["min.insync.replicas"].value == str(CLUSTER_MIN_INSYNC)
    assert config["retention.ms"].value == "-1"


def test_a_subscriber_reads_events_only_in_its_own_group_and_writes_only_its_confirmations(
    cluster: LocalKafkaCluster,
) -> None:
    loyalty = cluster.access("loyalty")
    asyncio.run(produce(cluster.access("ledger"), EVENTS, b'{"an": "event"}'))

    assert len(asyncio.run(read(loyalty, EVENTS, subscriber_group("loyalty")))) == 1
    asyncio.run(produce(loyalty, acks_topic("loyalty"), b"{}"))  # its own confirmations: allowed
    for topic in (EVENTS, acks_topic("marketing"), commands_topic("tablet")):
        with pytest.raises(TopicAuthorizationFailedError):
            asyncio.run(produce(loyalty, topic, b"{}"))
    with pytest.raises(GroupAuthorizationFailedError):
        asyncio.run(read(loyalty, EVENTS, "consent-projector"))
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(read(loyalty, commands_topic("tablet"), subscriber_group("loyalty")))


def test_a_channel_writes_its_commands_and_reads_nothing(cluster: LocalKafkaCluster) -> None:
    tablet = cluster.access("tablet")
    asyncio.run(produce(tablet, commands_topic("tablet"), b"{}"))
    for topic in (EVENTS, commands_topic("tablet")):
        with pytest.raises((TopicAuthorizationFailedError, GroupAuthorizationFailedError)):
            asyncio.run(read(tablet, topic, None))


def test_a_wrong_password_is_refused(cluster: LocalKafkaCluster) -> None:
    impostor = KafkaAccess(cluster.bootstrap_servers, "ledger", "not-the-ledgers-password")
    with pytest.raises(KafkaError):
        asyncio.run(produce(impostor, EVENTS, b"{}"))


def test_the_ledger_takes_the_sender_from_the_topic_and_dead_letters_a_confirmation_for_another_system(
    cluster: LocalKafkaCluster, tmp_path: Path
) -> None:
    secrets = completed({})
    env = {
        "CONSENT_KAFKA_BOOTSTRAP": cluster.bootstrap_servers, "CONSENT_KAFKA_USERNAME": "ledger",
        "CONSENT_KAFKA_PASSWORD": cluster.passwords["ledger"], "CONSENT_TOPIC_REPLICATION": "3",
        "CONSENT_LEDGER_STORE": f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        **{name: value for name, value in secrets.items() if name.startswith("CONSENT_LEDGER_")},
        "CONSENT_API_TOKENS": secrets["CONSENT_API_TOKENS"],
    }  # fmt: skip
    subject = str(uuid.uuid4())
    claim = {"type": "ConfirmEnforcement", "command_id": "ack-as-marketing", "subject_id": subject,
             "system": "marketing", "enforced_event_id": "e-1", "action": "suppression applied"}  # fmt: skip
    with service("ledger", env, tmp_path / "ledger.log"):
        asyncio.run(produce(cluster.access("loyalty"), acks_topic("loyalty"), orjson.dumps(claim), subject.encode()))
        letters = asyncio.run(dead_letters_of(cluster.access("admin"), subject.encode()))
    reasons = [orjson.loads(letter.value) for letter in letters]
    assert [(r["rule"], r["topic"]) for r in reasons] == [("system_not_sender", acks_topic("loyalty"))]
