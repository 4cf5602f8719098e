"""A long history on each store: loaded from a snapshot, with repeats answered from the store's record of commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from uuid import UUID

import pytest

from schemas.chain import chain_problems
from services.ledger.application.contract import to_envelope
from services.ledger.application.ledger import SNAPSHOT_INTERVAL
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.state import Context
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import Channel, ErasureGround
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import ctx, make_ledger, new_subject, tablet_consent
from tests.ledger.scenario_support import state_of

PII = {"name": "Test Subject One", "phone": "+7 700 000 0001"}
LONG = 2 * SNAPSHOT_INTERVAL + 7  # two snapshots, then some events after the last


def step(n: int) -> Context:
    """The context of the history's `n`-th command, with its digest."""
    return replace(ctx(f"c{n}"), command_digest=f"digest-{n}")


def given_a_long_history(ledger: ScenarioLedger, subject: UUID) -> None:
    """A consent, then opt-outs and opt-ins of SMS in turn, one command each, to LONG events."""
    ledger.grant_consent(subject, step(0), tablet_consent(), PII)
    for n in range(1, LONG):
        if n % 2:
            ledger.opt_out_of_marketing(subject, step(n), [Channel.SMS])
        else:
            ledger.opt_in_to_marketing(subject, step(n), [Channel.SMS])


@contextmanager
def another(store_url: str) -> Iterator[ScenarioLedger]:
    """Another ledger instance on the store, as another process: nothing of the first one's memory."""
    app = make_ledger(store_url)
    try:
        yield app
    finally:
        app.close()


def folded(ledger: ScenarioLedger, subject: UUID) -> DataSubject:
    """The subject folded from every one of its events, no snapshot."""
    state = ledger.history(subject)[1]
    assert state is not None
    return state


def test_a_subject_loaded_from_its_snapshot_is_the_subject_folded_from_every_event(
    ledger: ScenarioLedger, store_url: str
) -> None:
    subject = new_subject()
    given_a_long_history(ledger, subject)

    with another(store_url) as other:
        loaded = other.load(subject, ctx("x").now)
    snapshots = list(ledger.snapshots.get(subject)) if ledger.snapshots else []

    assert [s.originator_version for s in snapshots] == [SNAPSHOT_INTERVAL, 2 * SNAPSHOT_INTERVAL]
    assert state_of(loaded) == state_of(folded(ledger, subject))
    assert loaded.last_hash == to_envelope(ledger.history(subject)[0][-1])["hash"]
    assert loaded.modified_on == folded(ledger, subject).modified_on


def test_subjects_loaded_together_are_each_the_subject_loaded_alone(ledger: ScenarioLedger, store_url: str) -> None:
    long, short, unknown = new_subject(), new_subject(), new_subject()
    given_a_long_history(ledger, long)
    ledger.grant_consent(short, step(0), tablet_consent(), PII)

    with another(store_url) as other:
        together = other.load_many([long, short, unknown, long], ctx("x").now)
        alone = {subject: other.load(subject, ctx("x").now) for subject in (long, short, unknown)}

    assert list(together) == [long, short, unknown]
    assert {s: (subject.version, state_of(subject)) for s, subject in together.items()} == {
        s: (subject.version, state_of(subject)) for s, subject in alone.items()
    }
    assert together[long].version == LONG  # from its last snapshot and the events after it
    assert together[unknown].version == 0


def test_the_chain_stays_whole_across_snapshots_and_the_audit_replays_every_event(ledger: ScenarioLedger) -> None:
    subject = new_subject()
    given_a_long_history(ledger, subject)
    ledger.link_card(subject, ctx("card"), "card-0001")  # decided on a subject loaded from its snapshot

    events, state = ledger.history(subject)

    assert len(events) == LONG + 1
    assert chain_problems([to_envelope(event) for event in events]) == []
    assert state is not None
    assert state.cards == {"card-0001": None}


def test_a_repeat_of_a_command_long_before_the_snapshot_returns_its_first_outcome(
    ledger: ScenarioLedger, store_url: str
) -> None:
    subject = new_subject()
    given_a_long_history(ledger, subject)
    version = folded(ledger, subject).version

    with another(store_url) as other:
        repeat = other.opt_out_of_marketing(subject, step(1), [Channel.SMS])

    assert repeat.replayed
    assert repeat.event_ids == [to_envelope(ledger.history(subject)[0][1])["id"]]
    assert folded(ledger, subject).version == version


def test_a_command_id_of_long_ago_reused_for_another_command_is_refused(ledger: ScenarioLedger) -> None:
    subject = new_subject()
    given_a_long_history(ledger, subject)

    with pytest.raises(RuleViolationError) as reuse:
        ledger.opt_in_to_marketing(subject, replace(step(1), command_digest="another"), [Channel.SMS])

    assert reuse.value.rule == "command_id_reused"


def test_an_erasure_after_a_snapshot_holds_and_no_snapshot_brings_anything_back(
    ledger: ScenarioLedger, store_url: str
) -> None:
    subject = new_subject()
    given_a_long_history(ledger, subject)
    erased = ledger.erase_data(subject, ctx("erase", actor="dpo-1"), ErasureGround.CONSENT_WITHDRAWN, "subject")

    with another(store_url) as other:
        loaded = other.load(subject, ctx("x").now)
        assert other.erased(subject)

    assert loaded.erased_by == erased.event_ids[0]
    with pytest.raises(RuleViolationError) as refusal:
        ledger.link_card(subject, ctx("after"), "card-0002")
    assert refusal.value.rule == "subject_erased"
    snapshots = list(ledger.snapshots.get(subject)) if ledger.snapshots else []
    assert all("Test Subject" not in str(snapshot.state) for snapshot in snapshots)  # no personal data in a snapshot
