"""The steady load: new subjects granted over HTTP, marketing switched over Kafka, withdrawals completed.

Every command has an id of its own; one that was not answered (a ledger killed, the database away)
is sent again with the same id, as a channel would, until it is acknowledged or the run ends. Only
acknowledged commands are counted: over HTTP a 200/201 answer, over Kafka the brokers' acknowledgement
(acks=all, so at least two replicas hold the record).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.commands import OptInToMarketing, OptOutOfMarketing
from schemas.topics import commands_topic
from services.platform.kafka import KafkaAccess

log = logging.getLogger(__name__)

CHANNEL = "tablet"  # the channel principal the Kafka load sends as
RETRY_SECONDS = 0.5


def grant_body(command_id: str, number: int) -> dict[str, Any]:
    """A synthetic GrantConsent over HTTP (invented name and phone)."""
    return {
        "command_id": command_id,
        "form": {"form_id": "loyalty-consent", "form_version": "2026.1", "text_sha256": "b" * 64, "language": "ru"},
        "purposes": ["loyalty", "marketing"],
        "categories": ["name", "contacts"],
        "marketing_channels": ["sms", "email"],
        "collection": {
            "method": "tablet_sms",
            "proof": {"sms_verification_id": f"sms-{number}"},
            "consultant_id": "k-1",
        },
        "pii": {"name": f"Synthetic Subject {number}", "phone": f"+7 700 {number % 10_000_000:07d}"},
    }


@dataclass
class Acknowledged:
    """The commands the system acknowledged: command id -> subject id."""

    http: dict[str, str] = field(default_factory=dict)
    kafka: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many commands were acknowledged, over both ways in."""
        return len(self.http) + len(self.kafka)


class Load:
    """Sends commands until stopped: `http_workers` granting, one Kafka producer switching marketing channels."""

    def __init__(
        self, ledgers: Sequence[str], token: str, kafka: KafkaAccess, rng: random.Random, *, http_workers: int = 4
    ) -> None:
        self.ledgers, self.kafka, self.rng, self.http_workers = list(ledgers), kafka, rng, http_workers
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acknowledged = Acknowledged()
        self.granted: list[str] = []  # subjects whose grant was acknowledged
        self._numbers = itertools.count(1)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the workers in the running event loop."""
        self._tasks = [asyncio.create_task(self._grants(), name=f"http-{n}") for n in range(self.http_workers)]
        self._tasks.append(asyncio.create_task(self._switches(), name="kafka"))

    def check(self) -> None:
        """Raise the error of a worker that failed (a command refused by a rule), so the run stops at once."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"the load's {task.get_name()} failed") from task.exception()

    async def stop(self) -> None:
        """Stop sending; a command not acknowledged by then is not counted."""
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def send(self, client: httpx.AsyncClient, subject: str, path: str, body: dict[str, Any]) -> bool:
        """POST a command to any ledger instance until one acknowledges it (same id each time); False if stopped."""
        for ledger in itertools.cycle(self.rng.sample(self.ledgers, len(self.ledgers))):
            if self._stop.is_set():
                return False
            try:
                answer = await client.post(f"{ledger}/v1/subjects/{subject}{path}", json=body, headers=self.headers)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code in (200, 201):
                self.acknowledged.http[body["command_id"]] = subject
                return True
            if answer is not None and answer.status_code < 500 and answer.status_code != 429:
                raise RuntimeError(f"{path} refused: {answer.status_code} {answer.text[:300]}")
            await asyncio.sleep(RETRY_SECONDS)
        return False  # unreachable: cycle() never ends

    async def _grants(self) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while not self._stop.is_set():
                number = next(self._numbers)
                subject = str(uuid.uuid4())
                if await self.send(client, subject, "/consents", grant_body(f"chaos-grant-{number}", number)):
                    self.granted.append(subject)

    async def _switches(self) -> None:
        """Opt-out, then opt-in, of sms for granted subjects, over the channel's Kafka topic."""
        producer = AIOKafkaProducer(**self.kafka.options(), enable_idempotence=True, acks="all", linger_ms=5)
        await self._started(producer)
        switched: dict[str, int] = {}
        try:
            while not self._stop.is_set():
                if not self.granted:
                    await asyncio.sleep(0.1)
                    continue
                subject = self.rng.choice(self.granted)
                count = switched[subject] = switched.get(subject, 0) + 1
                kind = OptOutOfMarketing if count % 2 else OptInToMarketing
                command = kind(command_id=f"chaos-switch-{subject}-{count}", subject_id=uuid.UUID(subject),
                               channels=["sms"])  # fmt: skip
                await self._produce(producer, command.command_id, subject, command.model_dump_json().encode())
                await asyncio.sleep(0.02)
        finally:
            await producer.stop()

    async def _started(self, producer: AIOKafkaProducer) -> None:
        while not self._stop.is_set():
            try:
                await producer.start()
                return
            except KafkaError:
                await asyncio.sleep(RETRY_SECONDS)

    async def _produce(self, producer: AIOKafkaProducer, command_id: str, subject: str, value: bytes) -> None:
        """Send until the brokers acknowledge it (the idempotent producer keeps retries from doubling it)."""
        while not self._stop.is_set():
            try:
                await producer.send_and_wait(commands_topic(CHANNEL), value, key=subject.encode())
            except KafkaError as error:
                log.info("a command over Kafka not acknowledged yet: %s", error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self.acknowledged.kafka[command_id] = subject
            return
