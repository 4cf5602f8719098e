"""PostgreSQL restarted under load: the ledger and the projector answer 503 while it is away, then carry on alone.

Nothing is lost or recorded twice: a channel that is told 503 sends the same command again. Every
route answers again within seconds, and the projector catches up without anyone restarting it.
"""

from __future__ import annotations

import base64
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas import kit
from schemas.topics import sender_topic
from services.devstack.postgres import LocalPostgres
from services.ledger.adapters.pii.sealing import SealingKey
from services.ledger.adapters.signing import SigningKey
from tests.conftest import NewTopicFactory, inbound_families
from tests.integration.service_processes import service
from tests.ledger.test_http_api import grant_body

TOKEN = "operator-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOYALTY = {"system": "loyalty", "purpose": "loyalty"}
WRITERS = 4
KAFKA_COMMANDS = 300  # sent just before the restart: most of them meet the outage in the ledger's consumer
SEALING = SealingKey.generate()
DOWN_SECONDS = 15.0  # longer than a request waits for the database (about 12 s), so some are told 503


@pytest.fixture
def postgres() -> Iterator[LocalPostgres]:
    """A server of this test's own: restarting the session's would disturb other tests."""
    with LocalPostgres() as server:
        for name in ("ledger", "projector"):
            with psycopg.connect(server.dsn, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
        yield server


@dataclass
class Load:
    """Channels granting consent for new subjects until told to stop, resending a command answered 503."""

    ledger: str
    stop: threading.Event = field(default_factory=threading.Event)
    statuses: Counter[int] = field(default_factory=Counter)
    recorded: dict[str, float] = field(default_factory=dict)  # subject -> when its grant was acknowledged
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with httpx.Client(base_url=self.ledger, headers=AUTH, timeout=30) as client:
            while not self.stop.is_set() and len(self.recorded) < 20_000:
                subject = str(uuid.uuid4())
                body = grant_body(f"grant-{subject}", pii={"name": "Synthetic Subject"})
                while True:  # the same command until it is acknowledged: a repeat records nothing twice
                    answer = client.post(f"/v1/subjects/{subject}/consents", json=body)
                    with self.lock:
                        self.statuses[answer.status_code] += 1
                    if answer.status_code != 503:
                        break
                    time.sleep(0.2)
                if answer.status_code in (200, 201):
                    with self.lock:
                        self.recorded[subject] = time.monotonic()


def every_route_answers(ledger: str, projector: str, subject: str) -> bool:
    """One call of each kind of route, on both services: True once each answers 2xx."""
    form = {"form_id": "loyalty-consent", "form_version": f"v{uuid.uuid4().hex[:8]}", "language": "ru", "text": "T"}
    try:
        with httpx.Client(headers=AUTH, timeout=10) as client:
            registered = client.post(f"{ledger}/v1/forms", json=form)
            if registered.status_code != 201:
                return False
            calls = [
                client.get(f"{ledger}/v1/forms/{registered.json()['text_sha256']}"),
                client.get(f"{ledger}/v1/subjects/{subject}/history"),
                client.get(f"{ledger}/v1/evidence/bundle", params={"subject_id": subject}),
                client.get(f"{ledger}/health"),
                client.get(f"{projector}/v1/checks", params={"subject_id": subject, **LOYALTY}),
                client.get(f"{projector}/v1/subjects/{subject}/state"),
                client.get(f"{projector}/v1/requests"),
                client.get(f"{projector}/health"),
            ]
    except httpx.TransportError:
        return False
    return all(call.status_code == 200 for call in calls)


def waited(probe: Callable[[], Any], timeout: float) -> float:
    """Seconds until `probe()` is truthy; fails the test after `timeout`."""
    started = time.monotonic()
    while not probe():
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        time.sleep(0.2)
    return time.monotonic() - started


def health_while(stop: threading.Event, url: str, seen: list[tuple[float, int, str]]) -> None:
    """Ask /health every half second: how long each answer took, its status and what it said of the database."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            answer = httpx.get(f"{url}/health", timeout=10)
            seen.append((time.monotonic() - started, answer.status_code, answer.json().get("database", "?")))
        except httpx.TransportError:
            seen.append((time.monotonic() - started, 0, "no answer"))
        time.sleep(0.5)


async def test_a_postgresql_restart_under_load_loses_nothing_and_every_route_recovers_by_itself(
    postgres: LocalPostgres, kafka_bootstrap: str, new_topic: NewTopicFactory, tmp_path: Path
) -> None:
    topics = {name: await new_topic(f"consent.{name}") for name in ("events", "deadletter")}
    topics["commands"], topics["acks"] = await inbound_families(new_topic)  # the families; each sender's topic made
    common = {
        "CONSENT_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CONSENT_API_TOKENS": orjson.dumps(
            {TOKEN: {"name": "operator", "scopes": ["consent:write", "dpo", "read"]}}
        ).decode(),
        **{f"CONSENT_{name.upper()}_TOPIC": topic for name, topic in topics.items()},
    }
    ledger_env = common | {
        "CONSENT_LEDGER_STORE": f"postgresql://postgres@127.0.0.1:{postgres.port}/ledger",
        "CONSENT_LEDGER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CONSENT_LEDGER_IDENTITY_SECRET": "identity-secret-for-tests-0123456789",
        "CONSENT_LEDGER_SIGNING_KEY": SigningKey.generate().seed_base64(),
        "CONSENT_LEDGER_SEALING_KEY": SEALING.private_base64(),
        "CONSENT_RELAY_TRANSACTIONAL_ID": f"relay-{topics['events']}",
        "CONSENT_SCHEDULER_INTERVAL_SECONDS": "0",
    }
    projector_env = common | {
        "CONSENT_PROJECTOR_STORE": f"postgresql://postgres@127.0.0.1:{postgres.port}/projector",
        "CONSENT_PROJECTOR_GROUP_ID": f"projector-{uuid.uuid4().hex[:8]}",
    }
    with (
        service("ledger", ledger_env, tmp_path / "ledger.log") as (ledger, _),
        service("projector", projector_env, tmp_path / "projector.log") as (projector, _),
    ):
        load = Load(ledger)
        writers = [threading.Thread(target=load.run) for _ in range(WRITERS)]
        health: list[tuple[float, int, str]] = []
        watching = threading.Event()
        watcher = threading.Thread(target=health_while, args=(watching, ledger, health))
        for thread in (*writers, watcher):
            thread.start()
        try:
            waited(lambda: len(load.recorded) >= 200, 60)
            await send_on_kafka(kafka_bootstrap, sender_topic(topics["commands"], "web"), KAFKA_COMMANDS)
            went_down = time.monotonic()
            postgres.restart(down_for=DOWN_SECONDS)  # from this thread: the server is this test's child
            came_back = time.monotonic()
            first = min(load.recorded)
            routes_back = waited(lambda: every_route_answers(ledger, projector, first), 30)
            carried_on = len(load.recorded)
            waited(lambda: len(load.recorded) >= carried_on + 100, 30)  # and the load goes on
        finally:
            load.stop.set()
            watching.set()
            for thread in (*writers, watcher):
                thread.join(timeout=60)
        commands_back = min(at for at in load.recorded.values() if at >= came_back) - came_back

        subjects = sorted(load.recorded)
        caught_up = waited(lambda: projected(projector, subjects) == len(subjects), 90)
        expected = len(subjects) + KAFKA_COMMANDS
        waited(lambda: stored_events(postgres.port)[0] >= expected, 90)
        stored = stored_events(postgres.port)
        dead_letters = await records_in(kafka_bootstrap, topics["deadletter"])

    refused = load.statuses[503]
    down_health = [entry for entry in health if entry[2] != "up"]
    print(  # the figures of the run, for whoever reads the log (pytest -s)
        f"\nPostgreSQL restart under load: {len(subjects)} commands acknowledged, {refused} answered 503 "
        f"while it was away ({came_back - went_down:.1f} s); commands accepted again {commands_back:.1f} s "
        f"and every route {routes_back:.1f} s after it came back; the projector caught up {caught_up:.1f} s "
        f"later; statuses {dict(load.statuses)}; {KAFKA_COMMANDS} more commands on Kafka; "
        f"stored {stored[0]} events of {stored[1]} subjects for {expected} commands; dead letters {dead_letters}"
    )
    # 200: the command was stored but its answer was cut by the restart; the repeat says so and records nothing
    assert set(load.statuses) <= {200, 201, 503}, load.statuses  # never a 500
    assert refused > 0  # the outage was met, and answered with 503
    assert stored == (expected, expected)  # every acknowledged command once: nothing lost, no doubles
    assert "waits for the store" in (tmp_path / "ledger.log").read_text()  # some met the outage on Kafka
    assert dead_letters == 0  # a command on Kafka waits for the store; it is never given up on
    assert commands_back < 10
    assert routes_back < 15
    assert down_health, "no /health answer during the outage said the database was down"
    assert all(status == 503 for _, status, _ in down_health)
    assert max(seconds for seconds, _, _ in health) < 5  # /health never hung


def projected(projector: str, subjects: list[str]) -> int:
    """How many of `subjects` the projector allows loyalty processing for (bulk check)."""
    question = {"subject_ids": subjects, **LOYALTY}
    try:
        answer = httpx.post(f"{projector}/v1/checks/bulk", json=question, headers=AUTH, timeout=30)
    except httpx.TransportError:
        return 0
    if answer.status_code != 200:
        return 0
    return sum(orjson.loads(line)["allow"] for line in answer.content.splitlines())


def test_sigterm_stops_the_ledger_within_seconds_while_a_request_waits_for_a_lock(
    postgres: LocalPostgres, tmp_path: Path
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{postgres.port}/ledger"
    env = {
        "CONSENT_LEDGER_STORE": url,
        "CONSENT_LEDGER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CONSENT_LEDGER_IDENTITY_SECRET": "identity-secret-for-tests-0123456789",
        "CONSENT_API_TOKENS": orjson.dumps({TOKEN: {"name": "operator", "scopes": ["consent:write"]}}).decode(),
        "CONSENT_LEDGER_CONSUME_COMMANDS": "false",
        "CONSENT_LEDGER_RUN_RELAY": "false",
        "CONSENT_SCHEDULER_INTERVAL_SECONDS": "0",
    }
    with service("ledger", env, tmp_path / "ledger.log") as (ledger, process):
        first = httpx.post(f"{ledger}/v1/subjects/{uuid.uuid4()}/consents", json=grant_body(), headers=AUTH)
        assert first.status_code == 201
        with psycopg.connect(url) as holder:
            holder.execute("LOCK TABLE ledger_events IN EXCLUSIVE MODE")  # a writer that stalls
            waiting = threading.Thread(
                target=lambda: httpx.post(
                    f"{ledger}/v1/subjects/{uuid.uuid4()}/consents", json=grant_body("g2"), headers=AUTH, timeout=60
                )
            )
            waiting.start()
            time.sleep(1)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            stopped_after = time.monotonic() - started
            holder.rollback()
        waiting.join(timeout=60)

    assert stopped_after < 20


async def send_on_kafka(bootstrap: str, topic: str, count: int) -> None:
    """`count` grants for new subjects on a channel's topic, as a channel sends them (personal data sealed)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for _ in range(count):
            subject = str(uuid.uuid4())
            command = grant_body(f"kafka-grant-{subject}", type="GrantConsent", subject_id=subject)
            key, value = kit.command_record(command, SEALING.public_base64())
            await producer.send(topic, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()


async def records_in(bootstrap: str, topic: str) -> int:
    """How many records `topic` (one partition) holds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([partition]))[partition])
    finally:
        await consumer.stop()


def stored_events(port: int) -> tuple[int, int]:
    """Events in the ledger's store, and the subjects they belong to."""
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/ledger") as db:
        row = db.execute("SELECT count(*), count(DISTINCT originator_id) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
