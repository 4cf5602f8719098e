"""What the projector answers a malformed request: a 422 naming the field, never repeating the value sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from services.platform.errors import ValidationProblem
from services.projector.http import create_app
from services.projector.settings import ProjectorSettings
from tests.ledger.test_http_api import Clock

TOKENS = {"dpo-token-0123456789": {"name": "dpo-console", "scopes": ["dpo", "read"]}}
AUTH = {"Authorization": "Bearer dpo-token-0123456789"}
PROBLEM = TypeAdapter(ValidationProblem)
IIN = "900101300123"  # a plausible IIN sent where the opaque subject id belongs


@pytest.fixture
def api(tmp_path: Path, kafka_bootstrap: str) -> Iterator[TestClient]:
    settings = ProjectorSettings(
        projector_store=f"sqlite:///{tmp_path / 'projector.sqlite3'}",
        api_tokens=orjson.dumps(TOKENS).decode(),
        kafka_bootstrap=kafka_bootstrap,
        events_topic=f"consent.events.{uuid.uuid4().hex[:12]}",  # none: an audit replays an empty log
    )
    with TestClient(create_app(settings, consume=False, clock=Clock()), raise_server_exceptions=False) as client:
        yield client


def test_an_iin_sent_as_the_subject_id_is_a_422_that_does_not_repeat_it(api: TestClient) -> None:
    params = {"subject_id": IIN, "system": "marketing", "purpose": "marketing"}

    check = api.get("/v1/checks", params=params, headers=AUTH)
    state = api.get(f"/v1/subjects/{IIN}/state", headers=AUTH)
    bulk = api.post("/v1/checks/bulk", json={"subject_ids": [IIN], **params}, headers=AUTH)

    assert [check.status_code, state.status_code, bulk.status_code] == [422, 422, 422]
    assert [IIN in answer.text for answer in (check, state, bulk)] == [False, False, False]
    assert PROBLEM.validate_python(check.json()).detail[0].loc == ["query", "subject_id"]


def test_an_audit_at_a_moment_before_year_one_in_utc_is_a_422_naming_at(api: TestClient) -> None:
    # 0001-01-01T00:00+14:00 is 31 December of year 0 in UTC, which Python's datetime cannot hold
    params = {"subject_id": str(uuid.uuid4()), "system": "marketing", "purpose": "marketing"}

    audit = api.get("/v1/audit/checks", params=params | {"at": "0001-01-01T00:00:00+14:00"}, headers=AUTH)
    state = api.get(f"/v1/subjects/{uuid.uuid4()}/state", params={"as_of": "0001-01-01T00:00:00+14:00"}, headers=AUTH)

    assert (audit.status_code, state.status_code) == (422, 422)
    assert PROBLEM.validate_python(audit.json()).detail[0].loc == ["query", "at"]


def test_an_audit_at_a_moment_to_come_is_a_422_in_the_declared_shape(api: TestClient) -> None:
    params = {"subject_id": str(uuid.uuid4()), "system": "marketing", "purpose": "marketing"}

    audit = api.get("/v1/audit/checks", params=params | {"at": "2030-01-01T00:00:00+05:00"}, headers=AUTH)

    assert audit.status_code == 422
    assert PROBLEM.validate_python(audit.json()).detail[0].loc == ["query", "at"]


def test_a_lone_surrogate_in_a_bulk_check_is_a_422_not_a_server_error(api: TestClient) -> None:
    body = b'{"subject_ids": ["\\ud800"], "system": "marketing", "purpose": "marketing"}'

    answer = api.post("/v1/checks/bulk", content=body, headers=AUTH | {"Content-Type": "application/json"})

    assert answer.status_code == 422
    assert PROBLEM.validate_python(answer.json()).detail[0].type == "json_invalid"
