"""Nothing in clear on Kafka identifies a person: the broker's segment files on disk, read byte by byte.

Channels seal personal data to the ledger's public key (schemas.kit) and send valid and malformed
commands on the web channel's own topic; the ledger records the valid ones, the relay publishes their events
and the rest go to the dead letters. Then every *.log segment of every topic the broker keeps is
searched for the people's names, phones, IIN and card number: none may be there.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas import kit
from schemas.topics import sender_topic
from services.ledger.adapters.pii.sealing import SealingKey
from services.ledger.bootstrap import LedgerServices, build
from services.ledger.entrypoints.kafka import command_broker
from services.ledger.entrypoints.relay import relay_for
from services.ledger.settings import LedgerSettings
from services.platform.kafka import KafkaAccess
from services.platform.reading import Batch, read_to_end
from tests.conftest import NewTopicFactory, inbound_families
from tests.ledger.test_http_api import grant_body
from tests.ledger.test_iin import synthetic_iin

# Synthetic people, spelled so that no other test or broker file holds these bytes by chance.
NAME = "Qymbat Sealtestova"
PHONE = "+7 707 555 01 93"
IIN = synthetic_iin("770412", "4", "0917")
REPRESENTATIVE = "Zhenis Sealtestuly"
REPRESENTATIVE_PHONE = "+7 701 555 72 48"
NEW_NAME = "Qymbat Rectifiedova"
CARD = "6001 5550 4242 7319"
MARKERS = [NAME, PHONE, IIN, REPRESENTATIVE, REPRESENTATIVE_PHONE, NEW_NAME, CARD]


def forms(marker: str) -> set[bytes]:
    """The spellings a marker could take in a record: as typed, its digits alone, JSON-escaped."""
    digits = "".join(ch for ch in marker if ch.isdigit())
    return {marker.encode(), orjson.dumps(marker)[1:-1]} | ({digits.encode()} if len(digits) >= 10 else set())


async def broker_log_dirs(bootstrap: str) -> list[Path]:
    """Where the broker keeps its partitions (its `log.dirs`), as it reports them itself."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        metadata = await admin.describe_cluster()
        broker_id = str(metadata["brokers"][0]["node_id"])
        [answer] = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, broker_id)])
    finally:
        await admin.close()
    entries = {entry[0]: entry[1] for resource in answer.resources for entry in resource[4]}
    return [Path(folder) for folder in (entries.get("log.dirs") or entries["log.dir"]).split(",")]


def segments(log_dirs: list[Path]) -> Iterator[Path]:
    """Every segment file of every partition of every topic in the broker's log dirs."""
    for folder in log_dirs:
        yield from folder.glob("*/*.log")


def found(log_dirs: list[Path], needles: dict[str, set[bytes]]) -> dict[str, list[str]]:
    """For each needle, the `<topic-partition>/<segment>` files whose raw bytes hold one of its spellings."""
    hits: dict[str, list[str]] = {name: [] for name in needles}
    for segment in segments(log_dirs):
        data = segment.read_bytes()
        for name, spellings in needles.items():
            if any(spelling in data for spelling in spellings):
                hits[name].append(f"{segment.parent.name}/{segment.name}")
    return hits


@pytest.fixture
async def wired(tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory) -> Any:
    events = await new_topic("consent.events", partitions=3)
    commands, acks = await inbound_families(new_topic, partitions=3)
    settings = LedgerSettings(
        kafka_bootstrap=kafka_bootstrap, ledger_store=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        ledger_master_key=base64.b64encode(os.urandom(32)).decode(),
        ledger_identity_secret="identity-secret-for-tests-0123456789",
        ledger_sealing_key=SealingKey.generate().private_base64(),
        commands_topic=commands, deadletter_topic=await new_topic("consent.deadletter"), acks_topic=acks,
        events_topic=events, events_partitions=3, relay_transactional_id=f"relay-{events}",
    )  # fmt: skip
    services = build(settings)
    broker = command_broker(services, group_id=f"ledger-{uuid.uuid4().hex[:6]}")
    stop = asyncio.Event()
    relay = asyncio.create_task(relay_for(services).run(stop))
    await broker.start()
    yield services
    await broker.stop()
    stop.set()
    await relay
    services.close()


async def values(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[bytes]:
    """The record values on `topic` (read committed), once there are `expected` or `timeout` has passed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        seen: list[bytes] = []

        async def collect(batch: Batch, into: list[bytes] = seen) -> None:
            into.extend(record.value for record in batch)

        await read_to_end(KafkaAccess(bootstrap), topic, collect)
        if len(seen) >= expected or asyncio.get_running_loop().time() > deadline:
            return seen
        await asyncio.sleep(0.5)


def commands(public_key: str) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """(valid, malformed) records of channels that seal personal data, as they must."""
    subject, other = uuid.uuid4(), uuid.uuid4()
    pii = {"name": NAME, "phone": PHONE, "iin": IIN}
    grant = grant_body("scan-grant-1", subject_id=str(subject), type="GrantConsent", pii=pii)
    grant["representative"] = {"power_of_attorney_ref": "poa-77", "pii": {"name": REPRESENTATIVE,
                               "phone": REPRESENTATIVE_PHONE}}  # fmt: skip
    card = {"type": "LinkLoyaltyCard", "command_id": "scan-card-1", "subject_id": str(subject), "card_number": CARD}
    rectify = {"type": "RectifyPersonalData", "command_id": "scan-rectify-1", "subject_id": str(subject),
               "categories": ["name"], "pii": {"name": NEW_NAME}}  # fmt: skip
    valid = [kit.command_record(command, public_key) for command in (grant, card, rectify)]

    another_key = SealingKey.generate().public_base64()
    copied = kit.sealed_command(grant | {"subject_id": str(other), "command_id": "scan-copied-1"}, public_key)
    copied["sealed_pii"] = orjson.loads(valid[0][1])["sealed_pii"]  # the subject's sealed data, in another's command
    no_purposes = orjson.loads(kit.command_record(grant | {"command_id": "scan-malformed-1"}, public_key)[1])
    del no_purposes["purposes"]
    bad_iin = kit.sealed_command(grant | {"command_id": "scan-bad-iin-1", "pii": pii | {"iin": IIN[:-1] + "0"}},
                                 public_key)  # fmt: skip
    not_strings = {**rectify, "command_id": "scan-not-strings-1", "pii": None}
    not_strings["sealed_pii"] = kit.seal(public_key, subject, "pii", {"name": NEW_NAME, "phone": [PHONE]})
    malformed = [
        kit.command_record(grant | {"command_id": "scan-another-key-1"}, another_key),
        (str(other).encode(), orjson.dumps(copied)),
        (str(subject).encode(), orjson.dumps(no_purposes)),
        (str(subject).encode(), orjson.dumps(bad_iin)),
        (str(subject).encode(), orjson.dumps({k: v for k, v in not_strings.items() if v is not None})),
        (str(subject).encode(), kit.command_record(card, public_key)[1][:-9] + b"truncated"),
    ]
    return valid, malformed


async def test_no_segment_file_of_any_topic_holds_personal_data_in_clear(wired: LedgerServices) -> None:
    settings = wired.settings
    key = wired.commands.sealing_key
    assert key is not None
    valid, malformed = commands(key.public_base64())
    web = sender_topic(settings.commands_topic, "web")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    for record_key, value in valid + malformed:
        await producer.send_and_wait(web, key=record_key, value=value)
    await producer.stop()

    dead = await values(settings.kafka_bootstrap, settings.deadletter_topic, len(malformed))
    events = await values(settings.kafka_bootstrap, settings.events_topic, 3)
    log_dirs = await broker_log_dirs(settings.kafka_bootstrap)
    if not any(folder.is_dir() for folder in log_dirs):
        pytest.skip(f"the broker's log dirs {log_dirs} are not on this machine (a container's)")
    hits = found(
        log_dirs,
        {marker: forms(marker) for marker in MARKERS}
        | {"command id": {b"scan-grant-1"}, "dead-letter rule": {b"sealed_data_unreadable"}},
    )

    assert sorted(orjson.loads(value)["type"].rpartition(".")[2] for value in events) == [
        "ConsentGranted", "LoyaltyCardLinked", "PersonalDataRectified",
    ]  # fmt: skip
    assert sorted(orjson.loads(value)["rule"] for value in dead) == [
        "invalid", "malformed", "malformed", "malformed", "sealed_data_mismatch", "sealed_data_unreadable",
    ]  # fmt: skip
    topics = {path.name.rpartition("-")[0] for folder in log_dirs for path in folder.iterdir()}
    assert {web, settings.deadletter_topic, settings.events_topic} <= topics
    assert any(hit.startswith(web) for hit in hits.pop("command id"))  # the scan reads records
    assert any(hit.startswith(settings.deadletter_topic) for hit in hits.pop("dead-letter rule"))
    assert hits == {marker: [] for marker in MARKERS}
