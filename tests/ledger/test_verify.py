"""`consent-ledger verify`: the topic and the store agree, or the first difference is named."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from services.ledger.adapters.leadership import leadership_for
from services.ledger.entrypoints.relay import Relay, RelayConfig
from services.platform.kafka import KafkaAccess
from tests.conftest import NewTopicFactory
from tests.ledger.conftest import ledger_env, make_ledger
from tests.ledger.relay_support import fill, read_topic
from tests.ledger.test_relay import relay_until_published


def verify(env: dict[str, str], topic: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "verify", "--topic", topic],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_verify_passes_on_a_healthy_system_and_names_each_difference_on_a_tampered_topic(
    tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    store_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    ledger = make_ledger(store_url)
    fill(ledger, 50)
    topic, tampered = await new_topic("consent.events", partitions=3), await new_topic("tampered", partitions=3)
    relay = Relay(ledger, RelayConfig(KafkaAccess(kafka_bootstrap), topic, f"relay-{topic}"), leadership_for(store_url))
    await relay_until_published([relay], 100)
    ledger.close()
    records = sorted(await read_topic(kafka_bootstrap, topic), key=lambda r: r["envelope"]["position"])
    altered = records[10]["envelope"] | {"data": records[10]["envelope"]["data"] | {"channels": ["email"]}}
    copy = [records[i]["envelope"] for i in range(100) if i not in (10, 20)] + [altered, records[30]["envelope"]]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    for envelope in copy:
        await producer.send_and_wait(tampered, key=envelope["subject"].encode(), value=orjson.dumps(envelope))
    await producer.stop()
    env = ledger_env(store_url, kafka_bootstrap) | {"COLUMNS": "200"}

    healthy, broken = verify(env, topic), verify(env, tampered)

    assert healthy.returncode == 0, healthy.stdout
    assert "verified: 100 events" in healthy.stdout
    assert broken.returncode == 1
    differences = [line.strip() for line in broken.stdout.splitlines() if line.startswith("  ")]
    missing = records[20]["envelope"]
    after_gap = next(r["envelope"] for r in records if r["envelope"]["subject"] == missing["subject"]
                     and r["envelope"]["subjectversion"] == missing["subjectversion"] + 1)  # fmt: skip
    assert differences[:3] == [
        f"position 11: event {altered['id']}'s hash does not match its content",
        f"position 21: stored event {missing['id']} is missing from the topic",
        f"position 31: event {records[30]['envelope']['id']} is on the topic more than once",
    ]
    assert [line.split(":")[0] for line in differences[3:]] == [f"event {after_gap['id']}"] * 2  # the broken link


async def test_verify_names_an_event_altered_in_the_store(
    tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    store_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    ledger = make_ledger(store_url)
    fill(ledger, 5)
    topic = await new_topic("consent.events", partitions=3)
    relay = Relay(ledger, RelayConfig(KafkaAccess(kafka_bootstrap), topic, f"relay-{topic}"), leadership_for(store_url))
    await relay_until_published([relay], 10)
    ledger.close()
    altered = sorted(await read_topic(kafka_bootstrap, topic), key=lambda r: r["envelope"]["position"])[3]["envelope"]
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:  # someone with access to the database edits a fact
        (state,) = db.execute("SELECT state FROM stored_events WHERE rowid = 4").fetchone()  # position 4
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = 4", (state.replace(b"sms", b"post"),))

    result = verify(ledger_env(store_url, kafka_bootstrap) | {"COLUMNS": "200"}, topic)

    assert result.returncode == 1
    assert f"position 4: stored event {altered['id']}'s hash does not match its content" in result.stdout
