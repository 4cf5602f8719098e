"""One caller cannot stall the ledger: bodies and personal data have limits, and no writer waits for ever."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient

from schemas.commands import PII_VALUE_MAX
from services.ledger.bootstrap import build
from services.ledger.entrypoints.http.app import create_app
from tests.ledger.test_http_api import Clock, auth, grant_body, http_settings, post


def serve(store_url: str) -> TestClient:
    """The ledger's HTTP API on the store at `store_url`."""
    return TestClient(create_app(wired=build(http_settings(store_url), Clock())))


def postgres_url(db: dict[str, str]) -> str:
    return f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"


def within(seconds: float, call: Any) -> Any:
    """`call()` in a thread; fail the test (instead of hanging it) if it has not returned within `seconds`."""
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"no answer within {seconds} s"
    return outcome[0]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    with serve(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as client:
        yield client


def test_a_body_over_the_limit_is_refused_with_413_naming_the_limit(api: TestClient) -> None:
    subject = str(uuid4())
    huge = grant_body(pii={"name": "N" * 2_000_000})

    announced = post(api, "tablet", subject, "/consents", huge)
    streamed = api.post(
        f"/v1/subjects/{subject}/consents",
        content=(b"x" * 65_536 for _ in range(40)),  # chunked: no Content-Length to go by
        headers={**auth("tablet"), "Content-Type": "application/json"},
    )

    for answer in (announced, streamed):
        assert answer.status_code == 413
        assert "1048576 bytes (CONSENT_MAX_BODY_BYTES)" in answer.json()["detail"]
    assert post(api, "tablet", subject, "/consents", grant_body()).status_code == 201


def test_personal_data_over_its_limits_is_refused_with_422_naming_the_limit(api: TestClient) -> None:
    subject = str(uuid4())

    long_value = post(api, "tablet", subject, "/consents", grant_body(pii={"name": "N" * (PII_VALUE_MAX + 1)}))
    many_fields = post(api, "tablet", subject, "/consents", grant_body(pii={f"f{i}": "v" for i in range(33)}))

    assert long_value.status_code == many_fields.status_code == 422
    assert long_value.json()["detail"][0]["loc"] == ["body", "pii", "name"]
    assert f"at most {PII_VALUE_MAX} characters" in long_value.json()["detail"][0]["msg"]
    assert "at most 32 items" in many_fields.json()["detail"][0]["msg"]
    assert "N" * 100 not in long_value.text  # the value itself is never echoed


def test_a_ten_megabyte_grant_on_postgresql_is_refused_and_the_next_command_is_recorded_at_once(
    postgres_database: dict[str, str],
) -> None:
    with serve(postgres_url(postgres_database)) as api:
        huge = grant_body("grant-huge", pii={"name": "N" * 10_000_000})

        refused = within(30, lambda: post(api, "tablet", str(uuid4()), "/consents", huge))
        started = time.monotonic()
        recorded = within(30, lambda: post(api, "tablet", str(uuid4()), "/consents", grant_body()))

        assert refused.status_code == 413
        assert recorded.status_code == 201
        assert time.monotonic() - started < 5


def test_a_writer_behind_a_stalled_lock_holder_is_answered_503_and_writes_resume_once_it_lets_go(
    postgres_database: dict[str, str],
) -> None:
    url = postgres_url(postgres_database)
    with serve(url) as api:
        assert post(api, "tablet", str(uuid4()), "/consents", grant_body("grant-0")).status_code == 201
        with psycopg.connect(url) as holder:  # a session that took the events table's lock and stalls
            holder.execute("LOCK TABLE ledger_events IN EXCLUSIVE MODE")
            started = time.monotonic()
            waited = within(60, lambda: post(api, "tablet", str(uuid4()), "/consents", grant_body("grant-1")))
            seconds = time.monotonic() - started
            holder.rollback()

        assert waited.status_code == 503
        assert waited.headers["Retry-After"].isdigit()
        assert seconds < 20
        assert post(api, "tablet", str(uuid4()), "/consents", grant_body("grant-2")).status_code == 201
