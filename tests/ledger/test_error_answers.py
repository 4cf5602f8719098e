"""What the ledger answers a malformed request: a 422 naming the field, in the one shape its OpenAPI declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from services.ledger.bootstrap import build
from services.ledger.entrypoints.http.app import create_app
from services.platform.errors import ValidationProblem
from tests.ledger.test_http_api import Clock, auth, grant_body, http_settings

PROBLEM = TypeAdapter(ValidationProblem)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(wired=build(http_settings(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"), Clock())),
        raise_server_exceptions=False,
    ) as client:
        yield client


def test_a_consent_whose_body_names_another_subject_is_a_422_naming_subject_id(api: TestClient) -> None:
    body = grant_body(subject_id=str(uuid4()))

    answer = api.post(f"/v1/subjects/{uuid4()}/consents", json=body, headers=auth("tablet"))

    assert answer.status_code == 422
    assert PROBLEM.validate_python(answer.json()).detail[0].loc == ["body", "subject_id"]


def test_a_subject_request_naming_no_subject_is_a_422_naming_subject_id(api: TestClient) -> None:
    body = {
        "command_id": "request-1", "request_id": "R-1", "kind": "access", "received_on": "2026-05-04",
        "identity_document": {"document_number": "N1", "issued_by": "MVD", "issued_on": "2020-01-01",
                              "signature_ref": "sig-1"},
    }  # fmt: skip

    answer = api.post("/v1/requests", json=body, headers=auth("dpo"))

    assert answer.status_code == 422
    assert PROBLEM.validate_python(answer.json()).detail[0].loc == ["body", "subject_id"]


def test_a_lone_surrogate_in_the_personal_data_of_a_consent_is_a_422_not_a_server_error(api: TestClient) -> None:
    # "\ud800" is a valid JSON escape of no character at all: no UTF-8 encoder, cipher or database takes it
    body = orjson.dumps(grant_body()).replace(b'"Test Subject Two"', b'"Test Subject \\ud800"')

    answer = api.post(
        f"/v1/subjects/{uuid4()}/consents", content=body, headers=auth("tablet") | {"Content-Type": "application/json"}
    )

    assert answer.status_code == 422
    assert PROBLEM.validate_python(answer.json()).detail[0].type == "json_invalid"


def test_a_form_text_holding_a_nul_character_is_a_422_not_a_server_error_on_postgresql(
    postgres_database: dict[str, str],
) -> None:
    db = postgres_database
    url = f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"
    form = {"form_id": "loyalty-consent", "form_version": "2026.1", "language": "ru", "text": "Согласие\x00"}

    with TestClient(create_app(wired=build(http_settings(url), Clock())), raise_server_exceptions=False) as api:
        answer = api.post("/v1/forms", json=form, headers=auth("dpo"))

    assert answer.status_code == 422
    assert PROBLEM.validate_python(answer.json()).detail[0].loc == ["body", "text"]
