"""The ledger under uvicorn on PostgreSQL, ten clients at once: HTTP commands share commits, none lost or doubled.

Each client runs its subjects' life cycles (a grant, an opt-out, the grant again, an opt-in) while the
others run theirs, so their commands meet in the writer's groups; some subjects are also sent the
same grant by two clients at the same moment. Every command is recorded once, each subject's events in
the order its client sent them, and every repeat is answered 200 with the first outcome.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson
import psycopg
import pytest

from tests.integration.service_processes import service
from tests.ledger.test_http_api import grant_body

TOKEN = "channel-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
CLIENTS = 10
SUBJECTS = 60  # life cycles, shared out among the clients
TWICE = 20  # subjects whose grant two clients send at the same moment


@pytest.fixture
def store(postgres_database: dict[str, str]) -> str:
    db = postgres_database
    return f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"


def ledger_env(store: str) -> dict[str, str]:
    """The HTTP API alone on `store`: no consumer, relay or scheduler (no Kafka is needed)."""
    return {
        "CONSENT_KAFKA_BOOTSTRAP": "127.0.0.1:9",
        "CONSENT_API_TOKENS": orjson.dumps({TOKEN: {"name": "tablet", "scopes": ["consent:write", "read"]}}).decode(),
        "CONSENT_LEDGER_STORE": store,
        "CONSENT_LEDGER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CONSENT_LEDGER_IDENTITY_SECRET": "identity-secret-for-tests-0123456789",
        "CONSENT_LEDGER_CONSUME_COMMANDS": "false",
        "CONSENT_LEDGER_RUN_RELAY": "false",
        "CONSENT_SCHEDULER_INTERVAL_SECONDS": "0",
    }


async def life_cycle(client: httpx.AsyncClient, subject: UUID) -> list[tuple[int, Any]]:
    """One subject's commands in order, each sent once its predecessor is answered: (status, answer) each."""
    steps = [
        ("/consents", grant_body(f"grant-{subject}")),
        ("/marketing/opt-out", {"command_id": f"out-{subject}", "channels": ["sms"]}),
        ("/consents", grant_body(f"grant-{subject}")),  # a repeat: the first outcome
        ("/marketing/opt-in", {"command_id": f"in-{subject}", "channels": ["sms"]}),
    ]
    answers = []
    for path, body in steps:
        answer = await client.post(f"/v1/subjects/{subject}{path}", json=body)
        answers.append((answer.status_code, answer.json()))
    return answers


def stored(store: str) -> tuple[int, Counter[str]]:
    """Events in the ledger's store, and how many events each command id recorded."""
    with psycopg.connect(store) as db:
        rows = db.execute("SELECT state FROM ledger_events").fetchall()
    return len(rows), Counter(orjson.loads(bytes(row[0]))["command_id"] for row in rows)


async def test_ten_concurrent_clients_lose_nothing_and_double_nothing(store: str, tmp_path: Path) -> None:
    subjects = [uuid4() for _ in range(SUBJECTS)]
    twice = [uuid4() for _ in range(TWICE)]
    with service("ledger", ledger_env(store), tmp_path / "ledger.log") as (url, _):
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=60) as client:
            queue = iter(subjects)
            cycles: dict[UUID, list[tuple[int, Any]]] = {}

            async def channel() -> None:
                for subject in queue:
                    cycles[subject] = await life_cycle(client, subject)

            async def same_grant_twice(subject: UUID) -> list[httpx.Response]:
                body = grant_body(f"grant-{subject}")
                sent = (client.post(f"/v1/subjects/{subject}/consents", json=body) for _ in range(2))
                return list(await asyncio.gather(*sent))

            doubled, *_ = await asyncio.gather(
                asyncio.gather(*(same_grant_twice(subject) for subject in twice)),
                *(channel() for _ in range(CLIENTS)),
            )
            history = {s: (await client.get(f"/v1/subjects/{s}/history")).json() for s in subjects}

    for subject in subjects:
        statuses = [status for status, _ in cycles[subject]]
        granted, _, repeated, _ = (answer for _, answer in cycles[subject])
        assert statuses == [201, 201, 200, 201]
        assert repeated == {**granted, "replayed": True}
        kinds = [event["type"].rsplit(".", 1)[-1] for event in history[subject]["events"]]
        assert kinds == ["ConsentGranted", "MarketingOptedOut", "MarketingOptedIn"]
        ids = [event["id"] for event in history[subject]["events"]]
        assert [answer["event_ids"] for _, answer in cycles[subject]] == [[ids[0]], [ids[1]], [ids[0]], [ids[2]]]
    for first, second in doubled:
        assert sorted([first.status_code, second.status_code]) == [200, 201]
        assert first.json()["event_ids"] == second.json()["event_ids"]
    count, per_command = stored(store)
    assert count == 3 * SUBJECTS + TWICE
    assert set(per_command.values()) == {1}
