"""The whole flow on the real broker: ledger HTTP → store → relay → consent.events.v1 → projector checks,
the loyalty-card cascade back through the projector's own commands topic, and subscribers confirming each
on its own acks topic (consent.acks.<system>.v1 of this test's family)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi.testclient import TestClient

from schemas import kit
from schemas.evidence import EVENTS, load_public_key
from schemas.evidence_verifier import verify_bundle
from schemas.topics import sender_topic
from services.ledger.adapters.signing import SigningKey
from services.ledger.bootstrap import build
from services.ledger.entrypoints.http.app import create_app as ledger_app
from services.ledger.settings import LedgerSettings
from services.platform.kafka import KafkaAccess
from services.platform.reading import Batch, read_to_end
from services.projector.http import create_app as projector_app
from services.projector.settings import ProjectorSettings
from tests.conftest import NewTopicFactory, inbound_families
from tests.ledger.test_access_report import HEADINGS
from tests.ledger.test_http_api import Clock, grant_body, request_body

TOKENS = {"tablet-token-0123456789": {"name": "tablet", "scopes": ["consent:write"]},
          "dpo-token-0123456789abc": {"name": "dpo", "scopes": ["dpo", "read"]}}  # fmt: skip
TABLET = {"Authorization": "Bearer tablet-token-0123456789"}
DPO = {"Authorization": "Bearer dpo-token-0123456789abc"}
SIGNING_KEY = SigningKey.generate()
SUBSCRIBERS = {  # system -> (the event it enforces, what it did)
    "loyalty": ("LoyaltyCardBlocked", "card blocked"),
    "marketing": ("MarketingOptedOut", "suppression applied"),
    "delivery": ("PersonalDataErased", "data erased"),
}


def eventually(probe: Callable[[], Any], timeout: float = 30) -> Any:
    """The first truthy answer of `probe` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert found, "nothing came within the time allowed"
    return found


async def subscriber(bootstrap: str, topics: dict[str, str], system: str, stop: asyncio.Event) -> list[str]:
    """A downstream system built only on schemas/kit: verify each event, confirm what it enforces."""
    wanted, action = SUBSCRIBERS[system]
    consumer = AIOKafkaConsumer(
        topics["events"], bootstrap_servers=bootstrap, group_id=f"{system}-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest", isolation_level="read_committed",
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await consumer.start()
    await producer.start()
    verifier, problems = kit.ChainVerifier(), []
    try:
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    envelope = kit.decode(record.value)
                    problems += verifier.check(envelope)
                    if envelope.name == wanted:
                        await kit.confirm(
                            producer, envelope, system, action, topic=sender_topic(topics["acks"], system)
                        )
    finally:
        await consumer.stop()
        await producer.stop()
    return problems


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}", f"sqlite:///{tmp_path / 'projector.sqlite3'}"
    else:
        db = request.getfixturevalue("postgres_database")
        url = f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"
        yield url, url  # one database, the ledger's and the projector's tables side by side


async def test_a_life_cycle_is_visible_in_the_checks_and_enforced_by_the_subscribers(
    stores: tuple[str, str], kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topics = {name: await new_topic(f"consent.{name}", partitions=3) for name in ("events", "dead")}
    topics["commands"], topics["acks"] = await inbound_families(new_topic, partitions=3)
    clock = Clock()
    ledger_settings = LedgerSettings(
        kafka_bootstrap=kafka_bootstrap, ledger_store=stores[0], api_tokens=orjson.dumps(TOKENS).decode(),
        ledger_master_key=base64.b64encode(os.urandom(32)).decode(),
        ledger_identity_secret="identity-secret-for-tests-0123456789", events_topic=topics["events"],
        commands_topic=topics["commands"], acks_topic=topics["acks"], deadletter_topic=topics["dead"],
        relay_transactional_id=f"relay-{topics['events']}", scheduler_interval_seconds=0,
        ledger_signing_key=SIGNING_KEY.seed_base64(),
    )  # fmt: skip
    projector_settings = ProjectorSettings(
        kafka_bootstrap=kafka_bootstrap, projector_store=stores[1], api_tokens=orjson.dumps(TOKENS).decode(),
        events_topic=topics["events"], commands_topic=topics["commands"],
        projector_group_id=f"projector-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    stop = asyncio.Event()
    subscribers = [asyncio.create_task(subscriber(kafka_bootstrap, topics, s, stop)) for s in SUBSCRIBERS]
    subject = str(uuid.uuid4())

    def run() -> dict[str, Any]:
        with (
            TestClient(ledger_app(wired=build(ledger_settings, clock))) as ledger,
            TestClient(projector_app(projector_settings, clock=clock)) as projector,
        ):
            return scenario(ledger, projector, clock, subject)

    seen = await asyncio.to_thread(run)
    stop.set()
    problems = await asyncio.gather(*subscribers)
    on_kafka = await record_values(kafka_bootstrap, topics["events"], subject)

    assert seen["opted_out"] == {"allow": False, "rule": "opted_out", "event_id": seen["ids"]["opt-out"]}
    assert seen["pending"] == {"allow": False, "rule": "withdrawal_pending", "event_id": seen["ids"]["withdraw"]}
    assert seen["withdrawn"] == {"allow": False, "rule": "consent_withdrawn", "event_id": seen["ids"]["withdrawn"]}
    assert seen["transfer"] == (409, "consent_withdrawn")
    assert seen["erased"] == {"allow": False, "rule": "erased", "event_id": seen["ids"]["erase"]}
    assert seen["card_blocks"] == [(seen["ids"]["withdrawn"], "projector")]  # exactly one, naming the withdrawal
    assert seen["confirmations"] == {"loyalty", "marketing", "delivery"}
    assert seen["confirmed_by"] == {("loyalty", "loyalty"), ("marketing", "marketing"), ("delivery", "delivery")}
    assert seen["as_of"] == ["active", "withdrawn"]  # rebuilt from the log for each moment
    assert seen["audit"] == [  # "was this e-mail campaign lawful then?", from the log alone
        {"allow": True, "rule": "consented", "event_id": seen["ids"]["grant"]},
        {"allow": False, "rule": "withdrawal_pending", "event_id": seen["ids"]["withdraw"]},
    ]
    assert seen["relay_lag"] is True  # the ledger's health shows the relay caught up
    assert problems == [[], [], []]
    assert seen["answered_with"].startswith("access-report:sha256:")  # the register links the report sent
    assert seen["report_languages"] == ["kk", "ru", "en"]
    assert seen["bundle"].verified, seen["bundle"]  # offline, with the public key alone
    assert seen["bundle"].erased_subjects == 1
    assert seen["bundle_events"] == on_kafka  # byte for byte the records on consent.events.v1


def scenario(ledger: TestClient, projector: TestClient, clock: Clock, subject: str) -> dict[str, Any]:
    ids: dict[str, str] = {}

    def command(name: str, day: str, headers: dict[str, str], path: str, body: dict[str, Any]) -> None:
        clock.on(day)
        answer = ledger.post(f"/v1/subjects/{subject}{path}", json=body | {"command_id": name}, headers=headers)
        assert answer.status_code == 201, answer.json()
        ids[name] = answer.json()["event_ids"][0]

    def check(purpose: str, channel: str | None, once: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """The projector's answer, once its state shows what the ledger recorded (`once`)."""
        eventually(lambda: once(projector.get(f"/v1/subjects/{subject}/state", headers=DPO).json()))
        params = {"subject_id": subject, "system": "marketing", "purpose": purpose}
        params |= {"channel": channel} if channel else {}
        answer = projector.get("/v1/checks", params=params, headers=DPO).json()
        return {key: answer[key] for key in ("allow", "rule", "event_id")}

    def history() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = ledger.get(f"/v1/subjects/{subject}/history", headers=DPO).json()["events"]
        return events

    seen: dict[str, Any] = {"ids": ids}
    command("grant", "2026-05-04", TABLET, "/consents", grant_body())
    command("card", "2026-05-04", TABLET, "/cards", {"card_number": "6001 0000 0000 0002"})
    command("opt-out", "2026-05-05", TABLET, "/marketing/opt-out", {"channels": ["sms"]})
    seen["opted_out"] = check("marketing", "sms", lambda state: "sms" in state.get("opted_out", {}))
    clock.on("2026-05-06")
    assert ledger.post("/v1/requests", json=request_body("access", subject, "2026-05-06"), headers=DPO).is_success
    answered = ledger.post(
        f"/v1/subjects/{subject}/requests/rq-1/access-report", json={"command_id": "answer", "lang": "kk"}, headers=DPO
    ).json()
    report_url = f"/v1/subjects/{subject}/access-report"
    seen["report_languages"] = [
        lang for lang in ("kk", "ru", "en")
        if HEADINGS[lang] in ledger.get(report_url, params={"lang": lang, "format": "html"}, headers=DPO).text
    ]  # fmt: skip
    seen["answered_with"] = eventually(
        lambda: next(
            (r["response_ref"] for r in projector.get(f"/v1/subjects/{subject}/requests", headers=DPO).json()
             if r["response_ref"] == answered["response_ref"]),
            None,
        )
    )  # fmt: skip
    command("withdraw", "2026-05-22", TABLET, "/withdrawals", {"filed_on": "2026-05-22"})
    seen["pending"] = check("marketing", "email", lambda state: state["status"] == "withdrawal_pending")
    command("withdrawn", "2026-06-08", DPO, "/withdrawals/completion", {})
    seen["withdrawn"] = check("loyalty", None, lambda state: state["status"] == "withdrawn")
    blocked = eventually(lambda: [e for e in history() if e["type"].endswith("LoyaltyCardBlocked")])
    transfer = {"command_id": "t-1", "recipient": "partner-ru", "country": "RU", "categories": ["contacts"],
                "purpose": "delivery_and_service"}  # fmt: skip
    answer = ledger.post(f"/v1/subjects/{subject}/transfers", json=transfer, headers=TABLET)
    seen["transfer"] = (answer.status_code, answer.json()["rule"])
    command("erase", "2026-06-09", DPO, "/erasure", {"ground": "consent_withdrawn", "requested_by": "subject"})
    seen["erased"] = check("delivery_and_service", None, lambda state: state["erased"])
    confirmed = eventually(
        lambda: (
            {e["data"]["system"] for e in history() if e["type"].endswith("Confirmed")} >= set(SUBSCRIBERS)
            and {e["data"]["system"] for e in history() if e["type"].endswith("Confirmed")}
        )
    )
    time.sleep(1)  # a second cascade command, if any, would have been recorded by now
    seen["card_blocks"] = [
        (e["data"]["cause_event_id"], e["actor"]) for e in history() if e["type"].endswith("LoyaltyCardBlocked")
    ]  # the cascade's, recorded as sent by the sender of its topic
    seen["confirmed_by"] = {(e["data"]["system"], e["actor"]) for e in history() if e["type"].endswith("Confirmed")}
    seen["as_of"] = [
        projector.get(f"/v1/subjects/{subject}/state", params={"as_of": moment}, headers=DPO).json()["status"]
        for moment in ("2026-05-10T12:00:00+05:00", "2026-06-08T12:00:00+05:00")
    ]
    assert blocked
    seen["confirmations"] = confirmed
    audit = {"subject_id": subject, "system": "marketing", "purpose": "marketing", "channel": "email"}
    seen["audit"] = [
        {k: v for k, v in projector.get("/v1/audit/checks", params=audit | {"at": at}, headers=DPO).json().items()
         if k in ("allow", "rule", "event_id")}
        for at in ("2026-05-21T12:00:00+05:00", "2026-05-22T12:00:00+05:00")
    ]  # fmt: skip
    seen["relay_lag"] = eventually(lambda: ledger.get("/health").json()["details"]["relay"]["lag"] == 0)
    bundle = Path(tempfile.mkdtemp()) / "evidence.zip"
    bundle.write_bytes(ledger.get("/v1/evidence/bundle", params={"subject_id": subject}, headers=DPO).content)
    public_key = load_public_key(ledger.get("/v1/evidence/public-key").content)
    seen["bundle"] = verify_bundle(bundle, public_key)
    with zipfile.ZipFile(bundle) as opened:
        seen["bundle_events"] = opened.read(EVENTS).splitlines()
    shutil.rmtree(bundle.parent)
    return seen


async def record_values(bootstrap: str, topic: str, subject: str) -> list[bytes]:
    """The subject's records on the topic, as bytes, in ledger order."""
    values: list[bytes] = []

    async def collect(batch: Batch) -> None:
        values.extend(record.value for record in batch if record.key == subject.encode())

    await read_to_end(KafkaAccess(bootstrap), topic, collect)
    return sorted(values, key=lambda value: orjson.loads(value)["position"])
