"""The four failures of a round, each at a random moment under load, and how long the stack takes to recover.

- a broker: kill -9 one node; the other two keep every topic writable (replication 3, min.insync 2);
- the active relay: kill -9 the ledger instance that leads; another takes the lock and the
  transactional id (fencing the dead one) and publishes on: the seconds until it has published past
  the position the dead one reached are the take-over time;
- a projector in the middle of a card cascade: withdrawals due for a batch of seeded subjects are
  completed, and a projector is killed -9 as soon as their cascade is recorded; the seconds until
  the read model holds everything the topic held at the kill are the rebalance time;
- PostgreSQL: a fast restart (every session cut); the seconds from its return until the relay has
  published what was stored and the read model has caught up are the catch-up time.
Every killed part is started again before the next failure.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import httpx

from services.chaos.load import Load
from services.chaos.probe import Probe, wait_until
from services.devstack.cluster import LocalKafkaCluster

log = logging.getLogger(__name__)

RECOVERY_TIMEOUT = 180.0
CASCADE_BATCH = 10


async def kill_a_broker(probe: Probe, rng: random.Random) -> None:
    """kill -9 one running node, leave it down a few seconds under load, start it again."""
    cluster = probe.stack.broker
    assert isinstance(cluster, LocalKafkaCluster)  # noqa: S101 - the survival run starts a cluster
    node = rng.choice([node for node in cluster.nodes if node.running])
    log.warning("kill -9 Kafka node %d (pid %s)", node.node_id, node.process.pid if node.process else None)
    cluster.kill(node)
    await asyncio.sleep(rng.uniform(2, 6))
    await probe.start(lambda: cluster.restart(node))


async def kill_the_active_relay(probe: Probe) -> float:
    """kill -9 the ledger whose relay leads; return the seconds until another has published past it."""
    await wait_until(lambda: _has_leader(probe), RECOVERY_TIMEOUT, "a relay leading before the kill")
    found = await probe.leader()
    assert found is not None  # noqa: S101 - just waited for it
    leader, published = found
    log.warning("kill -9 %s, the active relay (pid %s, published up to %d)", leader.name, leader.pid, published)
    started = time.monotonic()
    leader.kill()

    async def taken_over() -> bool:
        now = await probe.leader()
        return now is not None and now[0] is not leader and now[1] > published

    await wait_until(taken_over, RECOVERY_TIMEOUT, "another relay publishing after the active one died")
    seconds = time.monotonic() - started
    await probe.start(leader.start)
    return seconds


async def kill_a_projector_mid_cascade(
    probe: Probe, load: Load, due: list[str], rng: random.Random
) -> tuple[float, bool]:
    """Complete due withdrawals, kill -9 a projector once their cascade is recorded.

    Returns the rebalance seconds, and whether some of the cascade was still unsent at the kill.
    """
    batch, due[:] = due[:CASCADE_BATCH], due[CASCADE_BATCH:]
    recorded_before, _ = await asyncio.to_thread(probe.cascade_rows)
    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(
            load.send(client, subject, "/withdrawals/completion", {"command_id": f"chaos-withdrawn-{subject}"})
            for subject in batch
        ))  # fmt: skip
    seen = (0, 0)

    async def cascade_recorded() -> bool:
        nonlocal seen
        seen = await asyncio.to_thread(probe.cascade_rows)
        return seen[0] > recorded_before

    await wait_until(cascade_recorded, RECOVERY_TIMEOUT, "the card cascade recorded by a projector")
    projector = rng.choice([projector for projector in probe.stack.projectors if projector.pid is not None])
    started = time.monotonic()
    projector.kill()  # at once: the projectors send what they recorded every half second
    recorded, sent = seen
    log.warning("killed -9 %s with %d of %d cascade commands sent", projector.name, sent, recorded)
    ends = await probe.published_offsets()
    await wait_until(lambda: probe.projected_up_to(ends), RECOVERY_TIMEOUT, "the read model after a projector died")
    seconds = time.monotonic() - started
    await probe.start(projector.start)
    return seconds, sent < recorded


async def restart_postgres(probe: Probe, rng: random.Random) -> float:
    """Restart PostgreSQL (down 1-3 s); return the seconds from its return until relay and read model caught up."""
    postgres = probe.stack.postgres
    assert postgres is not None  # noqa: S101 - the survival run starts it
    log.warning("restarting PostgreSQL (pid %s)", postgres.process.pid if postgres.process else None)
    down_for = rng.uniform(1, 3)
    await probe.start(lambda: postgres.restart(down_for=down_for))
    started = time.monotonic()
    stored = await asyncio.to_thread(probe.stored)

    async def published() -> bool:
        found = await probe.leader()
        return found is not None and found[1] >= stored

    await wait_until(published, RECOVERY_TIMEOUT, "the relay after PostgreSQL restarted")
    ends = await probe.published_offsets()
    await wait_until(lambda: probe.projected_up_to(ends), RECOVERY_TIMEOUT, "the read model after PostgreSQL restarted")
    return time.monotonic() - started


async def _has_leader(probe: Probe) -> bool:
    return await probe.leader() is not None
