"""command_to_check: from a command accepted over HTTP to its effect visible in a projector check, at a fixed rate.

The ledger (with its relay) and the projector run as operators run them, on the same broker and
stores of the same kind. Grants for new subjects are offered at OFFERED_PER_S (open loop: each
at its time, whether or not earlier ones were answered); once a grant is accepted (201) the
subject is watched with bulk checks every WATCH_SECONDS until it is allowed. The ceiling is raw
Kafka produce → consume of as many records at the same rate: send to receive, on the same broker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.bench.environment import Bench, Service
from services.bench.harness import Line, Meter, line, percentile
from services.bench.http_commands import ledger_env
from services.bench.projector import QUESTION
from services.bench.synthetic import HEADERS, TOKEN, Secrets, grant

DEFAULT = 2_000
OFFERED_PER_S = 500.0
WATCH_SECONDS = 0.01
GIVE_UP_SECONDS = 300.0


async def _watch(projector: str, accepted: dict[str, float], sent: asyncio.Event, seen: list[float],
                 progress: Callable[[int], None]) -> None:  # fmt: skip
    """Bulk-check the accepted subjects until each is allowed; record each one's latency (ms)."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    async with httpx.AsyncClient(base_url=projector, headers=HEADERS, timeout=60) as reader:
        while not (sent.is_set() and not accepted):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(accepted)} accepted commands never became visible in a check")
            if accepted:
                answer = await reader.post("/v1/checks/bulk", json={"subject_ids": list(accepted), **QUESTION})
                now = time.perf_counter()
                for text in answer.content.splitlines():
                    checked = orjson.loads(text)
                    if checked["allow"] and checked["subject_id"] in accepted:
                        seen.append((now - accepted.pop(checked["subject_id"])) * 1000)
                        progress(1)
            await asyncio.sleep(WATCH_SECONDS)


async def _offer(ledger: str, projector: str, count: int, progress: Callable[[int], None]) -> tuple[list[float], float]:
    """Offer `count` grants at OFFERED_PER_S; the command-to-check latencies (ms) and the accepted rate."""
    accepted: dict[str, float] = {}
    sent, seen = asyncio.Event(), list[float]()
    watcher = asyncio.create_task(_watch(projector, accepted, sent, seen, progress))
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=ledger, headers=HEADERS, timeout=120, limits=limits) as writer:

        async def send(n: int) -> None:
            subject = str(uuid.uuid4())
            answer = await writer.post(f"/v1/subjects/{subject}/consents", json=grant(n))
            if answer.status_code != 201:
                raise RuntimeError(f"a grant was answered {answer.status_code}")
            accepted[subject] = time.perf_counter()

        began, tasks = time.perf_counter(), []
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n / OFFERED_PER_S - time.perf_counter()))
            tasks.append(asyncio.create_task(send(n)))
        await asyncio.gather(*tasks)
        accepted_per_s = count / (time.perf_counter() - began)
    sent.set()
    await watcher
    return seen, accepted_per_s


async def raw_kafka(bootstrap: str, topic: str, count: int) -> list[float]:
    """Send-to-receive latencies (ms) of `count` records produced at OFFERED_PER_S and consumed at once."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    sent_at: dict[int, float] = {}
    latencies: list[float] = []

    async def receive() -> None:
        while len(latencies) < count:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                now = time.perf_counter()
                latencies.extend((now - sent_at[int(r.value)]) * 1000 for r in records)

    try:
        receiving = asyncio.create_task(receive())
        began = time.perf_counter()
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n / OFFERED_PER_S - time.perf_counter()))
            sent_at[n] = time.perf_counter()
            await producer.send(topic, value=str(n).encode())
        await asyncio.wait_for(receiving, GIVE_UP_SECONDS)
    finally:
        await producer.stop()
        await consumer.stop()
    return latencies


def _services(bench: Bench) -> tuple[Service, Service]:
    """The ledger with its relay and the projector, on one events topic and fresh stores."""
    bootstrap, topic = bench.kafka(), bench.topic("c2c-events", 6)
    ledger = bench.service("ledger", ledger_env(
        bench, Secrets.fresh(), CONSENT_KAFKA_BOOTSTRAP=bootstrap, CONSENT_LEDGER_RUN_RELAY="true",
        CONSENT_EVENTS_TOPIC=topic, CONSENT_RELAY_TRANSACTIONAL_ID=f"{topic}.relay",
    ))  # fmt: skip
    projector = bench.service("projector", {
        "CONSENT_PROJECTOR_STORE": bench.store_url("c2c-projector"), "CONSENT_KAFKA_BOOTSTRAP": bootstrap,
        "CONSENT_EVENTS_TOPIC": topic, "CONSENT_PROJECTOR_GROUP_ID": f"{topic}.projector",
        "CONSENT_DEADLETTER_TOPIC": bench.topic("c2c-deadletter"),
        "CONSENT_COMMANDS_TOPIC": bench.families("c2c-cascade")[0],
        "CONSENT_API_TOKENS": orjson.dumps({TOKEN: {"name": "bench", "scopes": ["read"]}}).decode(),
    })  # fmt: skip
    return ledger, projector


def command_to_check(bench: Bench) -> Line:
    """p99 (ms) from accepted to visible at OFFERED_PER_S beside raw produce → consume p99 at that rate."""
    count = bench.size(DEFAULT)
    ledger, projector = _services(bench)
    meter = Meter([ledger.process.pid, projector.process.pid]).start()
    seen, accepted_per_s = asyncio.run(_offer(ledger.url, projector.url, count, bench.task("command_to_check", count)))
    usage = meter.stop()
    raw = asyncio.run(raw_kafka(bench.kafka(), bench.topic("c2c-raw"), count))
    detail = {
        "p50_ms": percentile(seen, 0.5), "offered_per_s": OFFERED_PER_S, "accepted_per_s": accepted_per_s,
        "ceiling_p50_ms": percentile(raw, 0.5),
    }  # fmt: skip
    name = f"raw Kafka produce -> consume p99 at {OFFERED_PER_S:.0f}/s"
    return line("command_to_check", percentile(seen, 0.99), percentile(raw, 0.99), name, events=count, usage=usage,
                detail=detail)  # fmt: skip
