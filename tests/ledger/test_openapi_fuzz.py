"""The ledger keeps its OpenAPI promise under schemathesis: no server error, every answer as declared."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterator

import orjson
import pytest
import schemathesis

from services.ledger.adapters.signing import SigningKey
from services.ledger.bootstrap import build
from services.ledger.entrypoints.http.app import create_app
from services.ledger.settings import LedgerSettings
from services.platform.auth import SCOPES
from tests.ledger.test_http_api import Clock
from tests.openapi_fuzz import Caller, load_schema

log = logging.getLogger(__name__)
TOKEN = "fuzz-token-with-every-scope-0123"


@pytest.fixture
def ledger_api(
    request: pytest.FixtureRequest, postgres_database: dict[str, str], kafka_bootstrap: str
) -> Iterator[schemathesis.BaseSchema]:
    """The ledger's HTTP API on a fresh PostgreSQL event store, as schemathesis sees it."""
    db = postgres_database
    settings = LedgerSettings(
        ledger_store=f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}",
        ledger_master_key=base64.b64encode(os.urandom(32)).decode(),
        ledger_identity_secret="identity-secret-for-tests-0123456789",
        ledger_signing_key=SigningKey.generate().seed_base64(),
        ledger_sealing_key=base64.b64encode(os.urandom(32)).decode(),  # an X25519 private key is any 32 bytes
        api_tokens=orjson.dumps({TOKEN: {"name": "fuzzer", "scopes": sorted(SCOPES)}}).decode(),
        kafka_bootstrap=kafka_bootstrap,
        ledger_consume_commands=False,
        scheduler_interval_seconds=0,
        ledger_run_relay=False,
    )
    yield from load_schema(request, create_app(wired=build(settings, Clock())))


@pytest.fixture(scope="module")
def caller() -> Iterator[Caller]:
    """One caller for every operation, so the cases without a token fall on each in turn."""
    caller = Caller(TOKEN)
    yield caller
    log.info("ledger under schemathesis: %s", caller.summary())


schema = schemathesis.pytest.from_fixture("ledger_api")


@schema.parametrize()
def test_every_ledger_operation_answers_as_its_openapi_declares(case: schemathesis.Case, caller: Caller) -> None:
    caller.call_and_validate(case)
