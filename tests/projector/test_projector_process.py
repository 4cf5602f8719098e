"""A projector process killed mid-stream resumes where its store says, and equals a replay from offset 0."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from services.devstack.processes import free_port
from services.ledger.adapters.leadership import leadership_for
from services.ledger.entrypoints.relay import Relay, RelayConfig
from services.platform.kafka import KafkaAccess
from services.projector.store import ProjectionStore
from tests.conftest import NewTopicFactory
from tests.ledger.conftest import make_ledger
from tests.ledger.relay_support import fill
from tests.ledger.test_relay import relay_until_published

SUBJECTS = 2500  # two events each


def applied(store_url: str) -> int:
    """How many events the projector's store has folded (sum of subject versions)."""
    store = ProjectionStore(store_url)
    try:
        return sum(row[1] for row in store.dump()["subject_state"])
    finally:
        store.close()


def projector(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "services.projector.http:create_app",
        "--port",
        str(free_port()),
    ]
    return subprocess.Popen(argv, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def test_a_projector_killed_mid_stream_ends_equal_to_a_replay_from_offset_zero(
    tmp_path: Path, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    ledger = make_ledger(ledger_url)
    fill(ledger, SUBJECTS)
    topic = await new_topic("consent.events", partitions=3)
    relay = Relay(
        ledger, RelayConfig(KafkaAccess(kafka_bootstrap), topic, f"relay-{topic}"), leadership_for(ledger_url)
    )
    await relay_until_published([relay], 2 * SUBJECTS)
    ledger.close()
    live = f"sqlite:///{tmp_path / 'projector.sqlite3'}"
    env = {
        **os.environ, "CONSENT_KAFKA_BOOTSTRAP": kafka_bootstrap, "CONSENT_PROJECTOR_STORE": live,
        "CONSENT_EVENTS_TOPIC": topic, "CONSENT_COMMANDS_TOPIC": await new_topic("consent.commands"),
        "CONSENT_PROJECTOR_GROUP_ID": f"projector-{uuid.uuid4().hex[:6]}", "COLUMNS": "200",
    }  # fmt: skip
    done, at_kill, replayed = await asyncio.to_thread(kill_restart_and_replay, env, live, tmp_path)

    assert 0 < done <= at_kill < 2 * SUBJECTS  # killed in the middle of the stream
    assert applied(live) == 2 * SUBJECTS
    assert replayed.returncode == 0, replayed.stdout
    assert f"replayed {2 * SUBJECTS} events" in replayed.stdout
    assert "equal to the live projection" in replayed.stdout


def kill_restart_and_replay(
    env: dict[str, str], live: str, tmp_path: Path
) -> tuple[int, int, subprocess.CompletedProcess[str]]:
    """SIGKILL a projector after 500 events, restart it until it caught up, then replay into a fresh store."""
    log = tmp_path / "projector.log"
    first = projector(env, log)
    try:
        while (done := applied(live)) < 500:
            assert first.poll() is None, log.read_text()
            time.sleep(0.02)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    at_kill = applied(live)
    second = projector(env, log)
    try:
        deadline = time.monotonic() + 120
        while applied(live) < 2 * SUBJECTS and time.monotonic() < deadline:
            assert second.poll() is None, log.read_text()
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    replayed = subprocess.run(
        [sys.executable, "-m", "services.cli", "replay", "--into", f"sqlite:///{tmp_path / 'replay.sqlite3'}"],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    return done, at_kill, replayed
