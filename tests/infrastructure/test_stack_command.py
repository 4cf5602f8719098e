"""The README's stack command: a real broker, the ledger and the projector, all stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from services.devstack.processes import free_port
from services.platform.kafka import answers_metadata
from tests.infrastructure.test_launchers import is_running


def test_the_stack_serves_every_part_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "LEDGER_PORT", "PROJECTOR_PORT")}
    env = {**os.environ, **{f"CONSENT_{name}": str(port) for name, port in ports.items()}}
    env["CONSENT_STACK_DIR"] = str(tmp_path)
    env.pop("CONSENT_KAFKA_BOOTSTRAP", None)
    stack = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "stack"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    state_file = tmp_path / "stack.json"
    try:
        deadline = time.monotonic() + 120
        while not state_file.exists():
            assert stack.poll() is None, stack.stdout.read().decode() if stack.stdout else ""
            assert time.monotonic() < deadline, "the stack did not become ready within 120 s"
            time.sleep(0.3)
        parts = {part["part"]: part for part in orjson.loads(state_file.read_bytes())["parts"]}

        assert parts["kafka"]["address"] == f"127.0.0.1:{ports['KAFKA_PORT']}"
        assert asyncio.run(answers_metadata(parts["kafka"]["address"]))
        for name in ("ledger", "projector"):
            health = httpx.get(f"{parts[name]['address']}/health", timeout=10).json()
            assert health == {
                "service": name,
                "status": "ok",
                "kafka": "up",
                "kafka_bootstrap": parts["kafka"]["address"],
                "store": "sqlite",
            }
    finally:
        stack.send_signal(signal.SIGINT)
        exit_code = stack.wait(timeout=90)

    assert exit_code == 0
    assert [name for name, part in parts.items() if is_running(part["pid"])] == []
    assert not state_file.exists()


def test_the_stack_refuses_a_port_in_use_and_names_the_setting_to_change(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        env = {**os.environ, "CONSENT_STACK_DIR": str(tmp_path), "CONSENT_LEDGER_PORT": str(taken)}
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "stack"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert result.returncode == 1
    assert f"port {taken} is already in use" in result.stdout
    assert "CONSENT_LEDGER_PORT" in result.stdout
