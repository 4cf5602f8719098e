"""The projector keeps its OpenAPI promise under schemathesis: no server error, every answer as declared."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest
import schemathesis

from services.platform.auth import SCOPES
from services.projector.http import create_app
from services.projector.settings import ProjectorSettings
from services.projector.store import Consumed
from tests.conftest import NewTopicFactory
from tests.ledger.scenario_support import given_consent
from tests.ledger.test_http_api import Clock
from tests.openapi_fuzz import Caller, load_schema
from tests.projector import published

log = logging.getLogger(__name__)
TOKEN = "fuzz-token-with-every-scope-0123"


@pytest.fixture
async def events_topic(new_topic: NewTopicFactory) -> str:
    """A consent.events.v1 of this test's own, for the answers replayed from the log."""
    return await new_topic("consent.events")


@pytest.fixture
def projector_api(
    request: pytest.FixtureRequest, postgres_database: dict[str, str], kafka_bootstrap: str, events_topic: str
) -> Iterator[schemathesis.BaseSchema]:
    """The projector's HTTP API on a fresh PostgreSQL store holding one consenting subject, as schemathesis sees it."""
    db = postgres_database
    settings = ProjectorSettings(
        projector_store=f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}",
        api_tokens=orjson.dumps({TOKEN: {"name": "fuzzer", "scopes": sorted(SCOPES)}}).decode(),
        kafka_bootstrap=kafka_bootstrap,
        events_topic=events_topic,
    )
    app = create_app(settings, consume=False, clock=Clock())
    app.state.store.apply(events_topic, [Consumed(0, n, e) for n, e in enumerate(published(given_consent()))])
    yield from load_schema(request, app)


@pytest.fixture(scope="module")
def caller() -> Iterator[Caller]:
    """One caller for every operation, so the cases without a token fall on each in turn."""
    caller = Caller(TOKEN)
    yield caller
    log.info("projector under schemathesis: %s", caller.summary())


schema = schemathesis.pytest.from_fixture("projector_api")


@schema.parametrize()
def test_every_projector_operation_answers_as_its_openapi_declares(case: schemathesis.Case, caller: Caller) -> None:
    caller.call_and_validate(case)
