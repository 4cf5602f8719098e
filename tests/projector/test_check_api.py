"""The check API over the projector's read models: one subject, or a whole marketing audience streamed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from services.projector.http import create_app
from services.projector.routes import CheckAnswer
from services.projector.settings import ProjectorSettings
from services.projector.store import Consumed
from tests.ledger.scenario_support import given_consent
from tests.ledger.test_http_api import Clock
from tests.projector import published

READER = {"reader-token-0123456789": {"name": "marketing", "scopes": ["read"]}}
AUTH = {"Authorization": "Bearer reader-token-0123456789"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = ProjectorSettings(
        projector_store=f"sqlite:///{tmp_path / 'projector.sqlite3'}", api_tokens=orjson.dumps(READER).decode()
    )
    with TestClient(create_app(settings, consume=False, clock=Clock())) as client:
        yield client


def test_a_marketing_audience_of_100_000_subjects_is_answered_in_one_streamed_call(api: TestClient) -> None:
    envelopes = published(given_consent())
    api.app.state.store.apply("consent.events.v1", [Consumed(0, n, e) for n, e in enumerate(envelopes)])  # type: ignore[attr-defined]
    known = str(envelopes[0].subject)
    audience = [str(uuid.uuid4()) for _ in range(99_999)] + [known]
    body = {"subject_ids": audience, "system": "marketing", "purpose": "marketing", "channel": "email"}

    with api.stream("POST", "/v1/checks/bulk", json=body, headers=AUTH) as answer:
        lines = [orjson.loads(line) for line in answer.iter_lines() if line]

    assert answer.status_code == 200
    assert [line["subject_id"] for line in lines] == audience  # one line per subject, in the order asked
    assert {line["rule"] for line in lines[:-1]} == {"no_consent"}
    assert (lines[-1]["allow"], lines[-1]["rule"]) == (True, "consented")  # the one known subject, looked up
    assert lines[-1]["event_id"] == str(envelopes[0].id)


def test_one_check_needs_the_read_scope(api: TestClient) -> None:
    params = {"subject_id": str(uuid.uuid4()), "system": "marketing", "purpose": "marketing", "channel": "sms"}

    assert api.get("/v1/checks", params=params).status_code == 401
    assert api.get("/v1/checks", params=params, headers=AUTH).json()["rule"] == "no_consent"


def test_a_service_message_is_allowed_by_the_rule_alone_and_names_no_event(api: TestClient) -> None:
    envelopes = published(given_consent())
    api.app.state.store.apply("consent.events.v1", [Consumed(0, n, e) for n, e in enumerate(envelopes)])  # type: ignore[attr-defined]
    params = {"subject_id": str(envelopes[0].subject), "system": "delivery", "purpose": "delivery_and_service"}

    answer = api.get("/v1/checks", params=params | {"channel": "sms", "service_message": "true"}, headers=AUTH)

    assert answer.status_code == 200
    assert (answer.json()["allow"], answer.json()["rule"], answer.json()["event_id"]) == (True, "service_message", None)
    assert api.get("/openapi.json").json()["components"]["schemas"]["CheckAnswer"]["properties"]["event_id"]["anyOf"]


def test_each_bulk_line_is_byte_for_byte_the_check_answer_of_its_subject(api: TestClient) -> None:
    envelopes = published(given_consent())
    api.app.state.store.apply("consent.events.v1", [Consumed(0, n, e) for n, e in enumerate(envelopes)])  # type: ignore[attr-defined]
    audience = [str(envelopes[0].subject), str(uuid.uuid4()), str(envelopes[0].subject)]
    questions = [
        {"system": "marketing", "purpose": "marketing", "channel": "email"},
        {"system": "delivery", "purpose": "delivery_and_service", "service_message": True},
        {"system": "crm", "purpose": "loyalty", "recipient": "partner", "country": "RU", "categories": ["name"]},
    ]

    for question in questions:
        with api.stream("POST", "/v1/checks/bulk", json={"subject_ids": audience, **question}, headers=AUTH) as answer:
            streamed = answer.read()
        single = [
            api.get("/v1/checks", params={"subject_id": subject, **question}, headers=AUTH).json()
            for subject in audience
        ]
        expected = b"".join(orjson.dumps(CheckAnswer(**one).model_dump()) + b"\n" for one in single)

        assert answer.headers["content-type"] == "application/x-ndjson"
        assert streamed == expected
