"""The README's stack command: a real broker, the ledger and the projector, all stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from services.devstack.processes import free_port
from services.devstack.stack import development_secrets
from services.ledger.adapters.pii.sealing import SealingKey
from services.ledger.adapters.signing import SigningKey
from services.ledger.bootstrap import new_master_key
from services.platform.auth import SCOPES
from services.platform.kafka import answers_metadata
from services.platform.topology import inbound_senders, principals
from tests.infrastructure.test_launchers import is_running
from tests.ledger.test_http_api import grant_body


async def topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(50):  # the ledger creates its topics in the background as it starts, the dead letters last
            names = set(await admin.list_topics())
            if "consent.deadletter.v1" in names:
                return names
            await asyncio.sleep(0.2)
        return names
    finally:
        await admin.close()


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
        assert {*inbound_senders(), "consent.deadletter.v1"} <= asyncio.run(topics(parts["kafka"]["address"]))
        tokens = orjson.loads(orjson.loads((tmp_path / "secrets.json").read_bytes())["CONSENT_API_TOKENS"])
        by_name = {grant["name"]: token for token, grant in tokens.items()}
        subject, auth = uuid.uuid4(), {"Authorization": f"Bearer {by_name['developer']}"}
        granted = httpx.post(
            f"{parts['ledger']['address']}/v1/subjects/{subject}/consents", json=grant_body(), headers=auth, timeout=10
        )
        # A newcomer confirms enforcement for marketing with the marketing token the stack printed.
        ack = {"command_id": "ack-1", "system": "marketing", "action": "suppression applied"}
        confirmed = httpx.post(
            f"{parts['ledger']['address']}/v1/subjects/{subject}/enforcements",
            json=ack | {"enforced_event_id": granted.json()["event_ids"][0]},
            headers={"Authorization": f"Bearer {by_name['marketing']}"},
            timeout=10,
        )
        assert confirmed.status_code == 201, confirmed.text
        history = httpx.get(f"{parts['ledger']['address']}/v1/subjects/{subject}/history", headers=auth, timeout=10)
        assert granted.status_code == 201
        assert history.json()["state"]["consent_status"] == "active"
        projected = f"{parts['projector']['address']}/v1/subjects/{subject}/state"
        deadline = time.monotonic() + 60  # relay -> consent.events.v1 -> projector
        while (state := httpx.get(projected, headers=auth, timeout=10)).status_code == 404:
            assert time.monotonic() < deadline, "the projector never saw the grant"
            time.sleep(0.2)
        assert state.json()["status"] == "active"
        for name in ("ledger", "projector"):
            health = httpx.get(f"{parts[name]['address']}/health", timeout=10).json()
            health.pop("details")
            assert health == {
                "service": name,
                "status": "ok",
                "kafka": "up",
                "kafka_bootstrap": parts["kafka"]["address"],
                "store": "sqlite",
                "database": "up",
            }
    finally:
        stack.send_signal(signal.SIGINT)
        exit_code = stack.wait(timeout=90)

    assert exit_code == 0
    assert [name for name, part in parts.items() if is_running(part["pid"])] == []
    assert not state_file.exists()
    printed = stack.stdout.read().decode() if stack.stdout else ""
    for name in ("developer", "loyalty", "delivery", "marketing"):
        assert name in printed
        assert by_name[name] in printed


def test_an_older_stacks_secrets_are_kept_and_gain_the_tokens_of_the_subscribers_and_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MASTER_KEY", "IDENTITY_SECRET", "SIGNING_KEY", "SEALING_KEY"):
        monkeypatch.delenv(f"CONSENT_LEDGER_{name}", raising=False)
    monkeypatch.delenv("CONSENT_API_TOKENS", raising=False)
    developer = {"older-developer-token-0123": {"name": "developer", "scopes": sorted(SCOPES)}}
    older = {
        "CONSENT_LEDGER_MASTER_KEY": new_master_key(),
        "CONSENT_LEDGER_IDENTITY_SECRET": "an-identity-secret-of-an-older-stack-0123",
        "CONSENT_LEDGER_SIGNING_KEY": SigningKey.generate().seed_base64(),
        "CONSENT_API_TOKENS": orjson.dumps(developer).decode(),
    }
    (tmp_path / "secrets.json").write_bytes(orjson.dumps(older))

    secrets = development_secrets(tmp_path)

    tokens = orjson.loads(secrets.pop("CONSENT_API_TOKENS"))
    assert SealingKey.from_base64(secrets.pop("CONSENT_LEDGER_SEALING_KEY"))  # a key added since: made for it
    passwords = orjson.loads(secrets.pop("CONSENT_KAFKA_PASSWORDS"))  # added since too: one per Kafka principal
    assert set(passwords) == {"admin", *principals()}
    assert len(set(passwords.values())) == len(passwords)
    assert secrets == {name: value for name, value in older.items() if name != "CONSENT_API_TOKENS"}
    assert tokens.items() >= developer.items()  # the token a developer already uses still works
    added = sorted((grant["name"], grant["scopes"]) for token, grant in tokens.items() if token not in developer)
    assert added == [
        ("console", ["dpo", "read"]), ("delivery", ["consent:write"]), ("dpo-officer", ["dpo", "read"]),
        ("loyalty", ["consent:write"]), ("marketing", ["consent:write"]),
    ]  # fmt: skip
    assert orjson.loads(orjson.loads((tmp_path / "secrets.json").read_bytes())["CONSENT_API_TOKENS"]) == tokens
    assert orjson.loads(development_secrets(tmp_path)["CONSENT_API_TOKENS"]) == tokens  # the next start adds none


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
