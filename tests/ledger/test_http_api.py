"""The ledger's HTTP API as channels and the DPO use it: tokens and scopes, clear errors, a life cycle."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
import pytest
from fastapi.testclient import TestClient

from services.ledger.bootstrap import build
from services.ledger.entrypoints.http.app import create_app
from services.ledger.entrypoints.http.commands import COMMAND_ROUTES
from services.ledger.settings import LedgerSettings
from tests.ledger.test_identity import CARD, IIN, PHONE, SCRIPTS, written_in

TOKENS = {
    "tablet": ("tablet-token-0123456789", ["consent:write"]),
    "dpo": ("dpo-token-0123456789abc", ["dpo", "read"]),
    "auditor": ("auditor-token-012345678", ["read"]),
    "dpo-office": ("dpo-office-token-0123456", ["consent:write", "dpo", "read"]),  # enters paper applications
}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who][0]}"}


class Clock:
    """The ledger's clock in these tests: set `now` to move through the days of a scenario."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 10, tzinfo=UTC)

    def on(self, day: str, time: str = "10:00") -> None:
        self.now = datetime.fromisoformat(f"{day}T{time}:00+05:00")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def http_settings(store_url: str, **changes: Any) -> LedgerSettings:
    """A ledger serving HTTP only (no Kafka consumer, relay or scheduler) with the TOKENS above."""
    return LedgerSettings(
        ledger_store=store_url,
        ledger_master_key=base64.b64encode(os.urandom(32)).decode(),
        ledger_identity_secret="identity-secret-for-tests-0123456789",
        api_tokens=orjson.dumps({token: {"name": who, "scopes": s} for who, (token, s) in TOKENS.items()}).decode(),
        ledger_consume_commands=False,
        scheduler_interval_seconds=0,
        ledger_run_relay=False,
        **changes,
    )


@pytest.fixture
def api(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    with TestClient(
        create_app(wired=build(http_settings(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"), clock))
    ) as client:
        yield client


def grant_body(command_id: str = "grant-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "command_id": command_id,
        "form": {"form_id": "loyalty-consent", "form_version": "2026.1", "text_sha256": "b" * 64, "language": "ru"},
        "purposes": ["loyalty", "marketing", "delivery_and_service"],
        "categories": ["name", "contacts"],
        "marketing_channels": ["sms", "email"],
        "third_party_transfer": True,
        "cross_border_countries": ["RU"],
        "collection": {"method": "tablet_sms", "proof": {"sms_verification_id": "sms-42"}, "consultant_id": "k-17"},
        "pii": {"name": "Test Subject Two", "phone": "+7 700 000 0002"},
    }
    return body | changes


def post(api: TestClient, who: str, subject: str, path: str, body: dict[str, Any]) -> Any:
    return api.post(f"/v1/subjects/{subject}{path}", json=body, headers=auth(who))


@pytest.mark.parametrize(("path", "model", "scope"), COMMAND_ROUTES, ids=[m.__name__ for _, m, _ in COMMAND_ROUTES])
def test_every_command_route_needs_a_token_with_its_scope(api: TestClient, path: str, model: type, scope: str) -> None:
    url = f"/v1/subjects/{uuid4()}{path}"
    wrong = "dpo" if scope == "consent:write" else "tablet"

    without = api.post(url, json={"command_id": "x"})
    unknown = api.post(url, json={"command_id": "x"}, headers={"Authorization": "Bearer not-a-token-at-all"})
    wrong_scope = api.post(url, json={"command_id": "x"}, headers=auth(wrong))

    assert (without.status_code, unknown.status_code, wrong_scope.status_code) == (401, 401, 403)
    assert scope in wrong_scope.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [("post", "/v1/requests", "dpo"), ("post", "/v1/subject-ids", "consent:write"),
     ("get", f"/v1/subjects/{uuid4()}/history", "read")],
)  # fmt: skip
def test_the_other_routes_need_a_token_with_their_scope(api: TestClient, method: str, path: str, scope: str) -> None:
    wrong = "auditor" if scope != "read" else "tablet"

    without = api.request(method, path, json={})
    wrong_scope = api.request(method, path, json={}, headers=auth(wrong))

    assert (without.status_code, wrong_scope.status_code) == (401, 403)
    assert scope in wrong_scope.json()["detail"]


def test_health_needs_no_token_and_history_needs_the_read_scope(api: TestClient) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body())

    assert api.get("/health").status_code == 200
    assert api.get(f"/v1/subjects/{subject}/history", headers=auth("tablet")).status_code == 403
    assert api.get(f"/v1/subjects/{subject}/history", headers=auth("auditor")).status_code == 200


def test_a_missing_field_is_answered_422_naming_the_field(api: TestClient) -> None:
    body = grant_body()
    del body["purposes"]

    answer = post(api, "tablet", str(uuid4()), "/consents", body)

    assert answer.status_code == 422
    assert ["body", "purposes"] in [error["loc"] for error in answer.json()["detail"]]


def test_a_tablet_consent_without_its_sms_proof_is_answered_422_naming_the_proof(api: TestClient) -> None:
    body = grant_body(collection={"method": "tablet_sms", "proof": {}, "consultant_id": "k-17"})

    answer = post(api, "tablet", str(uuid4()), "/consents", body)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "collection", "proof", "sms_verification_id"]


def test_an_invalid_iin_is_answered_422_without_echoing_the_number(api: TestClient) -> None:
    body = grant_body(pii={"name": "Test Subject Three", "iin": "900101300001"})

    answer = post(api, "tablet", str(uuid4()), "/consents", body)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "pii", "iin"]
    assert "900101300001" not in answer.text


def test_a_refused_command_is_answered_409_naming_the_rule(api: TestClient) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body(cross_border_countries=[], third_party_transfer=False))

    transfer = {"command_id": "t-1", "recipient": "partner-ru", "country": "RU", "categories": ["contacts"]}
    answer = post(api, "tablet", subject, "/transfers", transfer | {"purpose": "loyalty"})

    assert answer.status_code == 409
    assert answer.json() == {
        "rule": "transfer_not_consented",
        "message": "the consent does not allow transfer to third parties",
    }


def test_a_repeated_command_is_answered_200_with_the_first_outcome(api: TestClient) -> None:
    subject = str(uuid4())

    first = post(api, "tablet", subject, "/consents", grant_body())
    again = post(api, "tablet", subject, "/consents", grant_body())

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["event_ids"] == first.json()["event_ids"]
    assert again.json()["replayed"] is True


def test_the_same_person_known_by_iin_or_phone_gets_a_stable_opaque_subject_id(api: TestClient) -> None:
    def derive(identifier: str, value: str) -> str:
        answer = api.post("/v1/subject-ids", json={"identifier": identifier, "value": value}, headers=auth("tablet"))
        assert answer.status_code == 200
        subject_id: str = answer.json()["subject_id"]
        return subject_id

    assert derive("phone", "+7 (700) 000-00-09") == derive("phone", "87000000009")
    assert derive("phone", "+7 700 000 0009") != derive("phone", "+7 700 000 0010")
    assert "7000000009" not in derive("phone", "+7 700 000 0009").replace("-", "")


def subject_id_of(api: TestClient, identifier: str, value: str) -> Any:
    return api.post("/v1/subject-ids", json={"identifier": identifier, "value": value}, headers=auth("tablet"))


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize(("identifier", "value"), [("phone", PHONE), ("iin", IIN), ("card", CARD)])
def test_a_person_typed_in_another_scripts_digits_gets_the_same_subject_id(
    api: TestClient, identifier: str, value: str, script: str
) -> None:
    typed = subject_id_of(api, identifier, written_in(script, value))

    assert typed.status_code == 200
    assert typed.json() == subject_id_of(api, identifier, value).json()


@pytest.mark.parametrize("script", [name for name in SCRIPTS if name != "ascii"])
def test_a_card_typed_in_another_scripts_digits_is_the_card_already_linked(api: TestClient, script: str) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body())
    linked = post(api, "tablet", subject, "/cards", {"command_id": "k-1", "card_number": CARD})

    again = post(api, "tablet", subject, "/cards", {"command_id": "k-2", "card_number": written_in(script, CARD)})

    assert linked.status_code == 201
    assert (again.status_code, again.json()["rule"]) == (409, "card_already_linked")


def test_a_phone_or_card_with_letters_is_answered_422_without_echoing_it(api: TestClient) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body())

    phone = subject_id_of(api, "phone", "+7 701 000 00 42 ext 5")
    card = post(api, "tablet", subject, "/cards", {"command_id": "k-1", "card_number": "6001 0000 0000 004X"})

    assert (phone.status_code, card.status_code) == (422, 422)
    assert card.json()["detail"][0]["loc"] == ["body", "card_number"]
    assert "0042" not in phone.text
    assert "004X" not in card.text


def request_body(command_id: str, subject: str, received_on: str) -> dict[str, Any]:
    return {
        "command_id": command_id, "subject_id": subject, "request_id": "rq-1", "kind": "access",
        "received_on": received_on,
        "identity_document": {
            "document_number": "N0000001", "issued_on": "2020-01-01", "issued_by": "Test Authority",
            "signature_ref": "scan-0001",
        },
    }  # fmt: skip


def test_a_life_cycle_through_http_is_recorded_and_shown_in_the_history(api: TestClient, clock: Clock) -> None:
    subject = str(uuid4())
    answer_rq = {"command_id": "c7", "request_id": "rq-1", "answered_on": "2026-05-26"}
    erase = {"command_id": "c8", "ground": "consent_withdrawn", "requested_by": "subject"}
    steps = [
        ("2026-05-04", "tablet", "/consents", grant_body()),
        ("2026-05-04", "tablet", "/marketing/opt-out", {"command_id": "c2", "channels": ["sms"]}),
        ("2026-05-04", "tablet", "/cards", {"command_id": "c3", "card_number": "6001 0000 0000 0001"}),
        ("2026-05-22", "dpo", None, request_body("c4", subject, "2026-05-22")),
        ("2026-05-22", "tablet", "/withdrawals", {"command_id": "c5", "filed_on": "2026-05-22"}),
        ("2026-05-26", "dpo", "/requests/answer", answer_rq),
        ("2026-06-08", "dpo", "/withdrawals/completion", {"command_id": "c6"}),
        ("2026-06-09", "dpo", "/erasure", erase),
    ]  # fmt: skip
    for day, who, path, body in steps:
        clock.on(day)
        if path is None:
            answer = api.post("/v1/requests", json=body, headers=auth(who))
        else:
            answer = post(api, who, subject, path, body)
        assert answer.status_code == 201, (path, answer.json())

    history = api.get(f"/v1/subjects/{subject}/history", headers=auth("auditor")).json()
    types = [event["type"].rsplit(".", 1)[1] for event in history["events"]]

    assert types == [
        "ConsentGranted", "MarketingOptedOut", "LoyaltyCardLinked", "SubjectRequestReceived",
        "ConsentWithdrawalRequested", "SubjectRequestAnswered", "ConsentWithdrawn", "PersonalDataErased",
    ]  # fmt: skip
    assert history["events"][3]["data"]["due_on"] == "2026-05-28"
    assert history["events"][4]["data"]["effective_on"] == "2026-06-08"
    assert history["state"]["consent_status"] == "withdrawn"
    assert "6001" not in orjson.dumps(history).decode()  # the card number never reaches the log
    assert "Test Subject Two" not in orjson.dumps(history).decode()
    assert "N0000001" not in orjson.dumps(history).decode()
    assert {event["actor"] for event in history["events"]} == {"tablet", "dpo"}


def test_the_openapi_document_lists_every_route(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]

    assert {f"/v1/subjects/{{subject_id}}{path}" for path, _, _ in COMMAND_ROUTES} <= paths.keys()
    assert {"/health", "/v1/requests", "/v1/subject-ids", "/v1/subjects/{subject_id}/history"} <= paths.keys()


def test_a_channel_cannot_set_the_ledgers_clock(api: TestClient, clock: Clock) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body())
    clock.on("2026-05-22")

    backdated = post(api, "tablet", subject, "/withdrawals", {"command_id": "w-1", "filed_on": "2020-01-01"})
    future = post(api, "tablet", subject, "/withdrawals", {"command_id": "w-2", "filed_on": "2026-06-30"})
    filed = post(api, "tablet", subject, "/withdrawals", {"command_id": "w-3", "filed_on": "2026-05-22"})
    too_early = post(api, "dpo", subject, "/withdrawals/completion", {"command_id": "w-4", "today": "2026-07-01"})
    completion = post(api, "dpo", subject, "/withdrawals/completion", {"command_id": "w-5"})

    assert [backdated.status_code, future.status_code, filed.status_code] == [422, 422, 201]
    assert backdated.json()["detail"][0]["loc"] == ["body", "filed_on"]
    assert too_early.status_code == 422  # `today` is not the sender's to give
    assert completion.json()["rule"] == "withdrawal_not_due"  # on 2026-05-22 by the ledger's own clock


def test_a_paper_withdrawal_entered_late_by_the_dpo_keeps_its_true_dates_and_takes_effect_at_once(
    api: TestClient, clock: Clock
) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body())  # on 4 May 2026
    clock.on("2026-07-20")
    late = {"command_id": "w-1", "filed_on": "2026-05-22"}

    by_a_channel = post(api, "tablet", subject, "/withdrawals", late)
    before_the_consent = post(
        api, "dpo-office", subject, "/withdrawals", {"command_id": "w-0", "filed_on": "2026-04-30"}
    )
    before_2000 = post(api, "dpo-office", subject, "/withdrawals", {"command_id": "w-9", "filed_on": "1999-12-31"})
    by_the_dpo = post(api, "dpo-office", subject, "/withdrawals", late)
    completion = post(api, "dpo", subject, "/withdrawals/completion", {"command_id": "w-2"})
    history = api.get(f"/v1/subjects/{subject}/history", headers=auth("auditor")).json()

    assert by_a_channel.status_code == 422
    assert by_a_channel.json()["detail"][0]["loc"] == ["body", "filed_on"]
    assert "2026-06-20" in by_a_channel.json()["detail"][0]["msg"]  # the earliest day a channel may give
    assert "dpo" in by_a_channel.json()["detail"][0]["msg"]
    assert (before_the_consent.status_code, before_the_consent.json()["rule"]) == (409, "filed_before_consent")
    assert before_2000.status_code == 422
    assert (by_the_dpo.status_code, completion.status_code) == (201, 201)
    requested, withdrawn = history["events"][1]["data"], history["events"][2]["data"]
    assert (requested["filed_on"], requested["effective_on"], requested["entered_late_by_days"]) == (
        "2026-05-22", "2026-06-08", 59,
    )  # fmt: skip
    assert withdrawn["effective_on"] == "2026-06-08"
    assert history["state"]["consent_status"] == "withdrawn"


def test_a_paper_request_received_long_ago_is_registered_by_the_dpo_with_its_true_date(
    api: TestClient, clock: Clock
) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body())
    clock.on("2026-07-20")

    received = api.post("/v1/requests", json=request_body("rq-late", subject, "2026-05-04"), headers=auth("dpo"))
    history = api.get(f"/v1/subjects/{subject}/history", headers=auth("auditor")).json()

    assert received.status_code == 201
    data = history["events"][-1]["data"]
    assert (data["received_on"], data["due_on"], data["entered_late_by_days"]) == ("2026-05-04", "2026-05-08", 77)


def test_a_command_id_reused_for_another_command_is_refused(api: TestClient) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body("same-id"))

    reused = post(api, "tablet", subject, "/marketing/opt-out", {"command_id": "same-id", "channels": ["sms"]})

    assert reused.status_code == 409
    assert reused.json()["rule"] == "command_id_reused"


def test_a_malformed_iin_is_not_echoed_and_a_bad_one_for_a_subject_id_is_a_422(api: TestClient) -> None:
    body = grant_body(pii={"name": "Test Subject Five", "iin": 900101300001})
    derived = api.post("/v1/subject-ids", json={"identifier": "iin", "value": "900101300001"}, headers=auth("tablet"))

    answer = post(api, "tablet", str(uuid4()), "/consents", body)

    assert answer.status_code == 422
    assert "900101300001" not in answer.text
    assert derived.status_code == 422
    assert "900101300001" not in derived.text


def test_a_system_confirms_enforcement_only_for_itself(api: TestClient) -> None:
    subject = str(uuid4())
    granted = post(api, "tablet", subject, "/consents", grant_body()).json()["event_ids"][0]
    ack = {"command_id": "ack-1", "enforced_event_id": granted, "action": "suppression applied"}

    as_other = post(api, "tablet", subject, "/enforcements", ack | {"system": "marketing"})
    as_itself = post(api, "tablet", subject, "/enforcements", ack | {"system": "tablet"})

    assert (as_other.status_code, as_itself.status_code) == (403, 201)


def test_a_confirmation_of_an_event_the_ledger_never_recorded_is_refused_409_and_recorded_nowhere(
    api: TestClient,
) -> None:
    subject, other = str(uuid4()), str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body())
    others_event = post(api, "tablet", other, "/consents", grant_body()).json()["event_ids"][0]
    ack = {"system": "tablet", "action": "suppression applied"}

    random = post(
        api, "tablet", subject, "/enforcements", ack | {"command_id": "a-1", "enforced_event_id": str(uuid4())}
    )
    foreign = post(
        api, "tablet", subject, "/enforcements", ack | {"command_id": "a-2", "enforced_event_id": others_event}
    )
    history = api.get(f"/v1/subjects/{subject}/history", headers=auth("auditor")).json()

    assert [random.status_code, foreign.status_code] == [409, 409]
    assert {random.json()["rule"], foreign.json()["rule"]} == {"unknown_enforced_event"}
    assert [event["type"].rsplit(".", 1)[1] for event in history["events"]] == ["ConsentGranted"]


def test_identifiers_that_could_carry_personal_data_are_refused(api: TestClient) -> None:
    subject = str(uuid4())
    post(api, "tablet", subject, "/consents", grant_body())
    erase = {"command_id": "e-1", "ground": "purpose_achieved", "requested_by": "Ivanov Ivan"}
    card = {"command_id": "k-1", "card_ref": "6001000000000001"}

    assert post(api, "dpo", subject, "/erasure", erase).status_code == 422
    assert post(api, "tablet", subject, "/cards", card).status_code == 422


def test_metrics_are_served_in_the_prometheus_format_without_a_token(api: TestClient) -> None:
    answer = api.get("/metrics")

    assert answer.status_code == 200
    assert "consent_relay_published_position" in answer.text
