"""The projector's read model and checks, fed with envelopes the real ledger domain produced.

`published(subject)` seals a subject's new events into its hash chain as the ledger does before
storing them and turns them, with the ledger's one translator, into the envelopes the relay would
publish; `project(subject, state)` folds them into the subject's projected state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import orjson

from schemas.events import Envelope, parse_envelope
from services.ledger.application.contract import to_envelope
from services.ledger.application.ledger import seal
from services.ledger.domain.events import SubjectEvent
from services.ledger.domain.subject import DataSubject
from services.projector.projection import evolve, initial_state
from tests.ledger.scenario_support import SUBJECT_ID

FIRST_POSITION = 100  # the subject's events sit somewhere in the ledger's order, not from 1


def published(subject: DataSubject) -> list[Envelope]:
    """The subject's events recorded since last published, as parsed consent.events.v1 envelopes."""
    seal(subject)
    events = cast("list[SubjectEvent]", subject.collect_events())
    return [parse_envelope(to_envelope(e, position=FIRST_POSITION + e.originator_version)) for e in events]


def fold(envelopes: Iterable[Envelope], state: dict[str, Any] | None = None) -> dict[str, Any]:
    """`state` (or a fresh one) after each of `envelopes` in turn."""
    state = initial_state(str(SUBJECT_ID)) if state is None else state
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def project(subject: DataSubject, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """`state` (or a fresh one) after the subject's events recorded since last published."""
    return fold(published(subject), state)


def canonical(state: dict[str, Any]) -> bytes:
    """The state as canonical JSON (sorted keys), as the read-model store would keep it."""
    return orjson.dumps(state, option=orjson.OPT_SORT_KEYS)
