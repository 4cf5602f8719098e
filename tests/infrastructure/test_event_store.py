"""eventsourcing saves and reads aggregates on both event stores the ledger supports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Card(Aggregate):
    """A stand-in aggregate: a loyalty card that can be blocked."""

    @event("Linked")
    def __init__(self, number_hint: str) -> None:
        self.number_hint = number_hint
        self.blocked = False

    @event("Blocked")
    def block(self, cause: str) -> None:
        self.blocked = True
        self.cause = cause


class Cards(Application[UUID]):
    def link(self, number_hint: str) -> UUID:
        card = Card(number_hint)
        self.save(card)
        return card.id

    def block(self, card_id: UUID, cause: str) -> None:
        card: Card = self.repository.get(card_id)
        card.block(cause)
        self.save(card)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Application environment for an event store of each kind, fresh for this test."""
    if request.param == "sqlite":
        yield {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "ledger.sqlite3")}
    else:
        database = request.getfixturevalue("postgres_database")
        yield {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": database["dbname"],
            "POSTGRES_HOST": database["host"],
            "POSTGRES_PORT": database["port"],
            "POSTGRES_USER": database["user"],
            "POSTGRES_PASSWORD": database["password"],
        }


def test_saved_events_are_read_back_by_a_new_application_on_the_same_store(store_env: dict[str, str]) -> None:
    writer = Cards(env=store_env)
    card_id = writer.link("****1234")
    writer.block(card_id, cause="withdrawal")
    writer.close()

    reader = Cards(env=store_env)
    card: Card = reader.repository.get(card_id)
    notifications = reader.notification_log.select(start=1, limit=10)
    reader.close()

    assert (card.number_hint, card.blocked, card.cause, card.version) == ("****1234", True, "withdrawal", 2)
    assert [n.topic.rsplit(".", 1)[-1] for n in notifications] == ["Linked", "Blocked"]
    assert [n.id for n in notifications] == [1, 2]
