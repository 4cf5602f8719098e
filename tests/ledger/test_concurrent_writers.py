"""Two ledger instances writing to one subject on PostgreSQL lose no event and keep one unbroken chain."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from eventsourcing.persistence import IntegrityError

from schemas.chain import chain_problems
from services.ledger.application.contract import to_envelope
from tests.ledger.conftest import ctx, make_ledger, new_subject, tablet_consent


def test_two_concurrent_writers_on_postgresql_lose_no_event(postgres_database: dict[str, str]) -> None:
    db = postgres_database
    url = f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"
    writers = [make_ledger(url), make_ledger(url)]
    subject = new_subject()
    granted = writers[0].grant_consent(subject, ctx("grant"), tablet_consent(), None).event_ids[0]

    def confirm_many(writer: int) -> int:
        for n in range(25):
            app = writers[writer]
            app.confirm_enforcement(subject, ctx(f"ack-{writer}-{n}"), f"system-{writer}-{n}", granted, "suppressed")
        return writer

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert sorted(pool.map(confirm_many, [0, 1])) == [0, 1]
    events, state = writers[0].history(subject)
    for writer in writers:
        writer.close()

    assert len(events) == 1 + 2 * 25
    assert [event.originator_version for event in events] == list(range(1, 52))
    assert state is not None
    assert len(state.enforcements) == 50
    assert chain_problems(to_envelope(event) for event in events) == []


def test_a_writer_that_lost_the_race_for_a_version_is_told_so_and_its_retry_records_once(
    postgres_database: dict[str, str],
) -> None:
    db = postgres_database
    url = f"postgresql://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}"
    first, second = make_ledger(url), make_ledger(url)
    subject = new_subject()
    granted = first.grant_consent(subject, ctx("grant"), tablet_consent(), None).event_ids[0]
    stale = second.load(subject, ctx("x").now)  # loaded before the first writer's next event
    first.confirm_enforcement(subject, ctx("ack-first"), "loyalty", granted, "suppressed")

    stale.confirm_enforcement(ctx("ack-second"), "delivery", granted, "suppressed")
    with pytest.raises(IntegrityError):  # the version clash, not "pipeline aborted" from the rows queued behind it
        second.save(stale)
    second.confirm_enforcement(subject, ctx("ack-second"), "delivery", granted, "suppressed")  # decided again
    events = first.history(subject)[0]
    first.close()
    second.close()

    assert [event.command_id for event in events] == ["grant", "ack-first", "ack-second"]
