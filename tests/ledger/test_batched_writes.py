"""Many commands decided together and saved in one transaction, on SQLite and PostgreSQL (application.batch)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import DataError

from schemas import commands as c
from schemas.chain import chain_problems
from services.ledger.adapters.pii.keys import SubjectErasedError
from services.ledger.adapters.recorders import PostgresCommandRecorder
from services.ledger.application.batch import Step, execute_many
from services.ledger.application.commands import Submitted
from services.ledger.application.contract import to_envelope
from services.ledger.application.ledger import Outcome
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.state import Context
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import Channel
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import at, ctx, new_subject, tablet_consent
from tests.ledger.test_http_api import grant_body

PII = {"name": "Test Subject Batch", "phone": "+7 700 000 0003"}


def grant(ledger: ScenarioLedger, subject: UUID, context: Context, pii: dict[str, str] | None = None) -> Step:
    return Step(subject, context, lambda s: s.grant_consent(context, tablet_consent(), ledger.encrypt(s, pii)))


def opt(subject: UUID, context: Context, channels: Iterable[Channel], *, out: bool = True) -> Step:
    if out:
        return Step(subject, context, lambda s: s.opt_out_of_marketing(context, channels))
    return Step(subject, context, lambda s: s.opt_in_to_marketing(context, channels))


def kinds(ledger: ScenarioLedger, subject: UUID) -> list[str]:
    return [type(event).__name__ for event in ledger.history(subject)[0]]


def rules(results: list[Any]) -> list[str | None]:
    return [result.rule if isinstance(result, RuleViolationError) else None for result in results]


def test_a_refusal_in_the_middle_refuses_only_itself(ledger: ScenarioLedger) -> None:
    first, second, third = new_subject(), new_subject(), new_subject()

    results = execute_many(ledger, [
        grant(ledger, first, ctx("g-1"), PII),
        opt(second, ctx("in-2"), [Channel.SMS], out=False),  # no consent yet: refused
        grant(ledger, third, ctx("g-3"), PII),
    ])  # fmt: skip

    assert rules(results) == [None, "consent_none", None]
    assert [kinds(ledger, s) for s in (first, second, third)] == [["ConsentGranted"], [], ["ConsentGranted"]]
    assert isinstance(results[0], Outcome)
    assert results[0].event_ids == [str(to_envelope(ledger.history(first)[0][0])["id"])]
    token = ledger.history(third)[0][0].pii
    assert token is not None
    assert ledger.cipher.decrypt(str(third), token, fresh=True) == PII  # its new key was stored with the batch


def test_commands_of_one_subject_in_one_batch_see_each_other_and_chain_in_order(ledger: ScenarioLedger) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, ctx("g-0", "2026-05-01"), tablet_consent(), None)

    results = execute_many(ledger, [
        opt(subject, ctx("out-1"), [Channel.SMS]),
        opt(subject, ctx("in-1"), [Channel.EMAIL], out=False),  # email is not stopped: refused
        opt(subject, ctx("in-2"), [Channel.SMS], out=False),  # sees out-1
        opt(subject, ctx("out-2"), [Channel.SMS, Channel.EMAIL]),
    ])  # fmt: skip

    events, state = ledger.history(subject)
    assert rules(results) == [None, "not_opted_out", None, None]
    assert kinds(ledger, subject) == ["ConsentGranted", "MarketingOptedOut", "MarketingOptedIn", "MarketingOptedOut"]
    assert [event.originator_version for event in events] == [1, 2, 3, 4]
    assert chain_problems(to_envelope(event) for event in events) == []
    assert state is not None
    assert state.opted_out == {Channel.SMS, Channel.EMAIL}


def test_a_repeat_inside_a_batch_and_a_whole_batch_delivered_again_record_nothing_twice(
    ledger: ScenarioLedger,
) -> None:
    subject, other = new_subject(), new_subject()
    batch = [grant(ledger, subject, ctx("g-1"), PII), grant(ledger, subject, ctx("g-1"), PII)]
    batch.append(grant(ledger, other, ctx("g-2")))

    first = execute_many(ledger, batch)
    again = execute_many(ledger, batch)  # as after a crash between the save and the offset commit

    assert all(isinstance(result, Outcome) for result in first + again)
    replayed = [result.replayed for result in first + again if isinstance(result, Outcome)]
    assert replayed == [False, True, False, True, True, True]
    assert len({tuple(result.event_ids) for result in first[:2] + again[:2] if isinstance(result, Outcome)}) == 1
    assert (kinds(ledger, subject), kinds(ledger, other)) == (["ConsentGranted"], ["ConsentGranted"])


def test_a_command_id_reused_for_another_command_is_refused_inside_and_across_batches(
    ledger: ScenarioLedger,
) -> None:
    subject = new_subject()
    said = Context("same-id", "consultant-17", at("2026-05-04"), command_digest="a" * 64)
    other = Context("same-id", "consultant-17", at("2026-05-04"), command_digest="b" * 64)

    inside = execute_many(ledger, [grant(ledger, subject, said), opt(subject, other, [Channel.SMS])])
    across = execute_many(ledger, [opt(subject, other, [Channel.SMS])])

    assert rules(inside) == [None, "command_id_reused"]
    assert rules(across) == ["command_id_reused"]
    assert kinds(ledger, subject) == ["ConsentGranted"]


def recorded_then_refused(context: Context) -> Callable[[DataSubject], object]:
    def decide(subject: DataSubject) -> None:
        subject.opt_out_of_marketing(context, [Channel.SMS])
        raise RuleViolationError("refused_late", "refused after recording")

    return decide


def test_a_command_refused_after_it_recorded_leaves_its_subject_as_it_was_before_it(ledger: ScenarioLedger) -> None:
    stored, fresh = new_subject(), new_subject()
    ledger.grant_consent(stored, ctx("g-0", "2026-05-01"), tablet_consent(), None)

    results = execute_many(ledger, [
        opt(stored, ctx("out-1"), [Channel.EMAIL]),
        Step(stored, ctx("late-1"), recorded_then_refused(ctx("late-1"))),
        opt(stored, ctx("out-2"), [Channel.SMS]),  # SMS is not stopped: the refused command left nothing
        grant(ledger, fresh, ctx("g-1")),
        Step(fresh, ctx("late-2"), recorded_then_refused(ctx("late-2"))),
    ])  # fmt: skip

    assert rules(results) == [None, "refused_late", None, None, "refused_late"]
    assert kinds(ledger, stored) == ["ConsentGranted", "MarketingOptedOut", "MarketingOptedOut"]
    assert kinds(ledger, fresh) == ["ConsentGranted"]
    assert chain_problems(to_envelope(event) for event in ledger.history(stored)[0]) == []


def test_a_concurrent_write_to_a_subject_of_the_batch_is_met_by_deciding_the_batch_again(
    ledger: ScenarioLedger, store_url: str
) -> None:
    subject, bystander = new_subject(), new_subject()
    ledger.grant_consent(subject, ctx("g-0", "2026-05-01"), tablet_consent(), None)
    elsewhere = ScenarioLedger.beside(ledger, store_url)
    meddled: list[bool] = []

    def opt_out_while_another_writer_does(s: DataSubject) -> None:
        if not meddled:  # the first attempt only: another instance records between the load and the save
            meddled.append(True)
            elsewhere.opt_out_of_marketing(subject, ctx("other-1"), [Channel.EMAIL])
        s.opt_out_of_marketing(ctx("out-1"), [Channel.SMS])

    results = execute_many(ledger, [grant(ledger, bystander, ctx("g-1"), PII), Step(subject, ctx("out-1"),
                                    opt_out_while_another_writer_does)])  # fmt: skip

    assert [isinstance(result, Outcome) for result in results] == [True, True]
    assert kinds(ledger, subject) == ["ConsentGranted", "MarketingOptedOut", "MarketingOptedOut"]
    assert kinds(ledger, bystander) == ["ConsentGranted"]
    assert chain_problems(to_envelope(event) for event in ledger.history(subject)[0]) == []
    elsewhere.close()


def test_new_keys_are_written_in_the_transaction_of_the_events_under_them(
    ledger: ScenarioLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    subjects = [new_subject() for _ in range(5)]
    keys: Any = ledger.cipher._keys  # the key store, to count its writes
    monkeypatch.setattr(keys, "create", lambda subject_id: pytest.fail("a batch makes no key on its own"))
    real_save, saves = ledger.save, []
    monkeypatch.setattr(
        ledger, "save", lambda *s, **kw: saves.append((len(s), len(kw.get("keys", ())))) or real_save(*s, **kw)
    )

    execute_many(ledger, [grant(ledger, s, ctx(f"g-{i}"), PII) for i, s in enumerate(subjects)])

    assert saves == [(5, 5)]  # one save: five subjects, their five keys
    assert all(keys.get(str(s)) is not None for s in subjects)
    assert [ledger.cipher.decrypt(str(s), ledger.history(s)[0][0].pii or "", fresh=True) for s in subjects] == [PII] * 5


def test_a_batch_whose_events_are_not_stored_leaves_no_key_behind(
    ledger: ScenarioLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    subjects = [new_subject() for _ in range(3)]
    recorder: Any = ledger.recorder
    hook = "_insert_stored_events" if isinstance(recorder, PostgresCommandRecorder) else "_insert_events"
    real_insert = getattr(recorder, hook)

    def insert_then_fail(cursor: Any, *args: Any, **kwargs: Any) -> Any:
        real_insert(cursor, *args, **kwargs)  # the events, their commands and their keys are written ...
        if hook == "_insert_events":
            raise RuntimeError("the store failed before the commit")  # ... and rolled back together
        cursor.execute("SELECT 1 / 0")  # a failed PostgreSQL transaction can only roll back

    monkeypatch.setattr(recorder, hook, insert_then_fail)
    with pytest.raises((RuntimeError, DataError)):
        execute_many(ledger, [grant(ledger, s, ctx(f"g-{i}"), PII) for i, s in enumerate(subjects)])

    assert [ledger.cipher._keys.get(str(s)) for s in subjects] == [None, None, None]
    assert [ledger.history(s)[0] for s in subjects] == [[], [], []]


def test_handle_many_runs_the_registrys_use_cases_and_an_erasure_still_destroys_the_key(
    ledger: ScenarioLedger,
) -> None:
    commands, subject, unknown = ledger.commands(), new_subject(), new_subject()
    now = at("2026-05-04")
    erase = c.ErasePersonalData(command_id="e-1", ground="purpose_achieved", requested_by="subject")
    batch = [
        Submitted(subject, c.GrantConsent.model_validate(grant_body("g-1")), "tablet", now),
        Submitted(subject, c.LinkLoyaltyCard(command_id="card-1"), "tablet", now),  # neither number nor ref
        Submitted(subject, erase, "dpo-1", now),
        Submitted(unknown, c.OptInToMarketing(command_id="o-1", channels=["sms"]), "tablet", now),
    ]

    results = commands.handle_many(batch)

    assert [type(result).__name__ for result in results] == [
        "Outcome", "InvalidCommandError", "Outcome", "RuleViolationError",
    ]  # fmt: skip
    assert kinds(ledger, subject) == ["ConsentGranted", "PersonalDataErased"]
    token = ledger.history(subject)[0][0].pii
    assert token is not None
    with pytest.raises(SubjectErasedError):
        ledger.cipher.decrypt(str(subject), token, fresh=True)


def test_a_key_another_writer_stored_first_is_met_by_deciding_the_batch_again(ledger: ScenarioLedger) -> None:
    subject, context = new_subject(), ctx("g-1")
    keys: Any = ledger.cipher._keys
    raced: list[bytes] = []

    def grant_while_another_writer_makes_the_key(s: DataSubject) -> None:
        token = ledger.encrypt(s, PII)  # a new key, in the batch's keys only
        if not raced:
            raced.append(keys.create(str(subject)))  # another instance stores its key first
        s.grant_consent(context, tablet_consent(), token)

    results = execute_many(ledger, [Step(subject, context, grant_while_another_writer_makes_the_key)])

    token = ledger.history(subject)[0][0].pii
    assert token is not None
    assert [isinstance(result, Outcome) for result in results] == [True]
    assert keys.get(str(subject)) == raced[0]
    assert ledger.cipher.decrypt(str(subject), token, fresh=True) == PII
