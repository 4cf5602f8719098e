"""projector_replay, check and bulk_check: the projector over the synthetic ledger's events.

projector_replay folds the topic into a fresh store with `replay` (what `consent-ledger replay`
runs), beside the slower of two ceilings: reading the topic raw (`read_to_end`, nothing done
with the records) and raw upserts of as many rows of the same size into a store of the same kind.
check and bulk_check ask the projector process (uvicorn, as operators run it) over that store:
one check at a time beside the trivial app's p99, and a bulk check beside reading and parsing
the same rows in the same chunks in this process.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
import orjson
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select

from services.bench.clients import get_checks
from services.bench.environment import Bench, Service
from services.bench.harness import Line, Meter, line, rate, stopwatch
from services.bench.http_commands import trivial
from services.bench.shared import events_topic, filled
from services.bench.synthetic import HEADERS, TOKEN
from services.platform.kafka import KafkaAccess
from services.platform.reading import Batch, read_to_end
from services.platform.sql import begin, engine_for, upsert
from services.projector.replay import replay
from services.projector.routes import BULK_CHUNK
from services.projector.schema import subject_state
from services.projector.store import ProjectionStore

CHECKS = 2_000
UPSERT_BATCH = 1_000
QUESTION = {"system": "loyalty", "purpose": "loyalty"}
SCRATCH = Table(
    "bench_upserts", MetaData(), Column("subject_id", String(36), primary_key=True), Column("version", Integer),
    Column("position", Integer), Column("state", Text),
)  # fmt: skip


async def _count(batch: Batch) -> None:
    """Nothing: the raw read's callback."""


def raw_upserts(url: str, rows: list[dict[str, Any]]) -> float:
    """Rows/s of upserts in batches of UPSERT_BATCH, one transaction each, into a fresh store like the projector's."""
    engine = engine_for(url)
    try:
        SCRATCH.create(engine)
        with stopwatch() as took:
            for first in range(0, len(rows), UPSERT_BATCH):
                with begin(engine) as connection:
                    upsert(connection, SCRATCH, rows[first : first + UPSERT_BATCH], update=("version", "state"))
        return rate(len(rows), took[0])
    finally:
        engine.dispose()


def _rows(url: str) -> list[dict[str, Any]]:
    """The replayed store's subject rows, as the upsert ceiling writes them (one per event: each is an upsert)."""
    store = engine_for(url)
    try:
        with begin(store) as connection:
            found = [dict(row._mapping) for row in connection.execute(select(subject_state))]
    finally:
        store.dispose()
    return found


def projector_replay(bench: Bench) -> Line:
    """Events/s of a replay into a fresh store beside min(raw topic read, raw store upserts)."""
    ledger, (topic, _) = filled(bench), events_topic(bench)
    with stopwatch() as took:
        read = asyncio.run(read_to_end(KafkaAccess(bench.kafka()), topic, _count))
    raw_read = rate(read, took[0])
    url = bench.store_url("projector")
    store = ProjectionStore(url)
    try:
        meter = Meter().start()
        with stopwatch() as took:
            count = asyncio.run(
                replay(store, KafkaAccess(bench.kafka()), topic, bench.task("projector_replay", ledger.events))
            )
        usage = meter.stop()
    finally:
        store.close()
    bench.shared["projector_store"] = url
    rows = _rows(url)
    upserts = raw_upserts(
        bench.store_url("upserts"), [rows[n % len(rows)] | {"subject_id": str(n)} for n in range(read)]
    )
    detail = {"raw_read_per_s": raw_read, "raw_upserts_per_s": upserts}
    name = "min(raw topic read, raw store upserts)"
    return line("projector_replay", rate(count, took[0]), min(raw_read, upserts), name, events=count, usage=usage,
                detail=detail)  # fmt: skip


def projector(bench: Bench) -> Service:
    """The projector process over the replayed store (replayed first if need be), started once per run."""
    if "projector" not in bench.shared:
        if "projector_store" not in bench.shared:
            projector_replay(bench)
        topic, _ = events_topic(bench)
        env = {
            "CONSENT_PROJECTOR_STORE": bench.shared["projector_store"], "CONSENT_KAFKA_BOOTSTRAP": bench.kafka(),
            "CONSENT_EVENTS_TOPIC": topic, "CONSENT_PROJECTOR_GROUP_ID": f"{topic}.projector",
            "CONSENT_DEADLETTER_TOPIC": bench.topic("deadletter"),
            "CONSENT_COMMANDS_TOPIC": bench.families("cascade")[0],
            "CONSENT_API_TOKENS": orjson.dumps({TOKEN: {"name": "bench", "scopes": ["read"]}}).decode(),
        }  # fmt: skip
        bench.shared["projector"] = bench.service("projector", env)
    service: Service = bench.shared["projector"]
    return service


def check(bench: Bench) -> Line:
    """p99 of single checks, one after another, beside the trivial app's p99 for the same requests."""
    ledger, service = filled(bench), projector(bench)
    sample = random.choices(ledger.subjects, k=bench.size(CHECKS))  # noqa: S311 - a sample, not a secret
    asked = [{"subject_id": str(subject), **QUESTION} for subject in sample]
    meter = Meter([service.process.pid]).start()
    load = get_checks(service.url, asked, bench.task("check: projector", len(asked)))
    usage = meter.stop()
    ceiling = get_checks(trivial(bench).url, asked, bench.task("check: trivial app", len(asked)))
    if load.failures or ceiling.failures:
        raise RuntimeError(f"{load.failures + ceiling.failures} checks were not answered")
    detail = {"p50_ms": load.p50, "ceiling_p50_ms": ceiling.p50, "checks_per_s": load.per_second}
    name = "trivial FastAPI app p99, same uvicorn and client"
    return line("check", load.p99, ceiling.p99, name, events=len(asked), usage=usage, detail=detail)


def _read_and_parse(url: str, ids: list[str]) -> float:
    """Seconds to read and parse the states of `ids` in the bulk check's chunks: the rows the answer needs."""
    engine = engine_for(url)
    s = subject_state.c
    try:
        with stopwatch() as took:
            for first in range(0, len(ids), BULK_CHUNK):
                with begin(engine) as connection:
                    chunk = set(ids[first : first + BULK_CHUNK])
                    for _, state in connection.execute(select(s.subject_id, s.state).where(s.subject_id.in_(chunk))):
                        orjson.loads(state)
        return took[0]
    finally:
        engine.dispose()


def bulk_check(bench: Bench) -> Line:
    """Subjects/s of one bulk check of --events subjects (the synthetic ones, in turn) beside read+parse of them."""
    ledger, service = filled(bench), projector(bench)
    count = bench.size(len(ledger.subjects) * 2)
    ids = [str(ledger.subjects[n % len(ledger.subjects)]) for n in range(count)]
    meter = Meter([service.process.pid]).start()
    began, answered = time.perf_counter(), 0
    with httpx.stream("POST", f"{service.url}/v1/checks/bulk", json={"subject_ids": ids, **QUESTION},
                      headers=HEADERS, timeout=600) as answer:  # fmt: skip
        answer.raise_for_status()
        for _ in answer.iter_lines():
            answered += 1
    seconds, usage = time.perf_counter() - began, meter.stop()
    if answered != count:
        raise RuntimeError(f"the bulk check answered {answered} of {count} subjects")
    ceiling = rate(count, _read_and_parse(bench.shared["projector_store"], ids))
    name = "read and parse the same rows, same chunks"
    return line("bulk_check", rate(count, seconds), ceiling, name, events=count, usage=usage)
