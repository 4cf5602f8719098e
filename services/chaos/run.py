"""The survival run: the cluster stack, a steady load, four failures a round, then the count (one JSON line)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from aiokafka.errors import KafkaError
from confluent_kafka import KafkaException

from services.chaos.faults import (
    CASCADE_BATCH,
    kill_a_broker,
    kill_a_projector_mid_cascade,
    kill_the_active_relay,
    restart_postgres,
)
from services.chaos.load import CHANNEL, Load
from services.chaos.probe import Probe, wait_until
from services.chaos.seed import seed_due_withdrawals
from services.chaos.verify import Projectors, Stores, verify
from services.devstack.processes import free_port
from services.devstack.secrets import ALL_SCOPES_NAME, TOKENS
from services.devstack.stack import Stack, StackSettings, check_ports_free, running_stack

log = logging.getLogger(__name__)

FAULTS = ("broker", "relay", "projector", "postgres")
# What a failed run raises, said in one line: a part that never came back, a client that gave up.
FAILURES = (RuntimeError, TimeoutError, OSError, KafkaError, KafkaException, psycopg.Error, httpx.HTTPError)
SETTLE_TIMEOUT = 300.0


def cluster_settings(stack_dir: Path) -> StackSettings:
    """Three brokers, two ledgers and two projectors on free loopback ports, their files under `stack_dir`."""
    for _ in range(50):
        base = free_port() // 10 * 10
        if base + 20 < 65_000:
            settings = StackSettings(
                brokers=3, ledgers=2, projectors=2, stack_dir=stack_dir,
                kafka_port=base, ledger_port=base + 11, projector_port=base + 12,
            )  # fmt: skip
            try:
                check_ports_free(settings)
                return settings
            except RuntimeError:
                continue
    raise RuntimeError("found no free block of 16 loopback ports")


def run_chaos(rounds: int, seed: int, on_round: Callable[[int], None], keep: Path | None = None) -> dict[str, Any]:
    """Start the cluster stack in a new folder (`keep`, or a temporary one), survive `rounds` rounds, stop it all.

    Returns the figures. A kept folder holds every part's log and data afterwards.
    """
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise RuntimeError(f"{keep} is not empty: the run needs a new folder")
    os.environ["CONSENT_SCHEDULER_INTERVAL_SECONDS"] = "0"  # the run completes the withdrawals itself, when it wants
    with (
        tempfile.TemporaryDirectory(prefix="consent-chaos-") as temporary,
        ThreadPoolExecutor(1, thread_name_prefix="starter") as starter,  # outlives the stack: see Probe.start
    ):
        folder = keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)  # PostgreSQL, run as its own user when we are root, keeps its data inside
        with running_stack(cluster_settings(folder)) as stack:
            chooser = random.Random(seed)  # noqa: S311 - the run's moments and choices, never a secret
            return asyncio.run(survive(stack, Probe(stack, starter), rounds, chooser, on_round))


async def survive(
    stack: Stack, probe: Probe, rounds: int, rng: random.Random, on_round: Callable[[int], None]
) -> dict[str, Any]:
    """Load the stack, fail its parts at random moments for `rounds` rounds, let it settle and count."""
    ledger_env = stack.ledgers[0].env
    due = await asyncio.to_thread(seed_due_withdrawals, ledger_env, rounds * CASCADE_BATCH)
    tokens = orjson.loads(stack.secrets[TOKENS])
    token = next(token for token, grant in tokens.items() if grant["name"] == ALL_SCOPES_NAME)
    load = Load([ledger.url for ledger in stack.ledgers], token, stack.kafka_access(CHANNEL), rng)
    load.start()
    withdrawn: list[str] = []
    kills_mid_cascade = 0  # projector kills with some of the cascade still unsent
    seconds: dict[str, list[float]] = {"relay": [], "projector": [], "postgres": []}
    try:
        await asyncio.sleep(3)
        for round_number in range(1, rounds + 1):
            for fault in rng.sample(FAULTS, len(FAULTS)):
                await asyncio.sleep(rng.uniform(1, 4))  # a random moment, under load
                load.check()
                if fault == "broker":
                    await kill_a_broker(probe, rng)
                elif fault == "relay":
                    seconds["relay"].append(await kill_the_active_relay(probe))
                elif fault == "projector":
                    withdrawn += due[:CASCADE_BATCH]
                    rebalance, mid_cascade = await kill_a_projector_mid_cascade(probe, load, due, rng)
                    seconds["projector"].append(rebalance)
                    kills_mid_cascade += mid_cascade
                else:
                    seconds["postgres"].append(await restart_postgres(probe, rng))
            on_round(round_number)
        await asyncio.sleep(2)
    finally:
        await load.stop()
    await settle(probe)
    postgres = stack.postgres
    assert postgres is not None  # noqa: S101 - the cluster stack runs it
    fresh = await asyncio.to_thread(postgres.create_database, f"replay_{int(time.time())}")
    stores = Stores(ledger_env["CONSENT_LEDGER_STORE"], stack.projectors[0].env["CONSENT_PROJECTOR_STORE"], fresh)
    projectors = Projectors([projector.url for projector in stack.projectors], token)
    findings = await verify(probe.kafka, stores, load.acknowledged, withdrawn, projectors)
    return {
        "rounds": rounds,
        "acknowledged": findings.acknowledged,
        "lost": findings.lost,
        "duplicated": findings.duplicated,
        "replay_mismatches": findings.replay_mismatches,
        "instances_disagreeing": findings.instances_disagreeing,
        "relay_takeover_s": _worst(seconds["relay"]),
        "rebalance_s": _worst(seconds["projector"]),
        "pg_catch_up_s": _worst(seconds["postgres"]),
        "median_s": {name: round(statistics.median(values), 1) for name, values in seconds.items() if values},
        "events": findings.events,
        "acknowledged_over": {"http": len(load.acknowledged.http), "kafka": len(load.acknowledged.kafka)},
        "cascades": len(withdrawn),
        "projector_kills_mid_cascade": kills_mid_cascade,
    }


def _worst(values: list[float]) -> float | None:
    return round(max(values), 1) if values else None


async def settle(probe: Probe) -> None:
    """Wait until the stack is quiet: the cascade sent, everything stored published and projected, twice in a row."""
    last, state = -1, "not looked at yet"

    async def quiet() -> bool:
        nonlocal last, state
        recorded, sent = await asyncio.to_thread(probe.cascade_rows)
        stored = await asyncio.to_thread(probe.stored)
        found = await probe.leader()
        ends = await probe.published_offsets()
        projected = await asyncio.to_thread(probe.projected)
        state = (f"cascade {sent}/{recorded} sent; stored up to {stored}, published up to "
                 f"{found[1] if found else 'no relay leading'}; read model {projected}, topic {ends}")  # fmt: skip
        if recorded != sent or found is None or found[1] < stored:
            return False
        if not all(projected.get(partition, 0) >= end for partition, end in ends.items()):
            return False
        steady, last = stored == last, stored
        if not steady:
            await asyncio.sleep(3)  # a cascade just sent may still be on its way into the ledger
        return steady

    try:
        await wait_until(quiet, SETTLE_TIMEOUT, "the stack settling after the run")
    except TimeoutError as error:
        raise TimeoutError(f"{error}: {state}") from error
