"""The projector's read models and its consumed offsets, written in ONE transaction per batch.

A record at an offset below the stored next offset of its partition was applied already and is
skipped, so redelivery after a crash changes nothing; replaying from offset 0 into an empty store
gives the same rows. Works on SQLite (embedded default) and PostgreSQL, through SQLAlchemy Core; the
tables are made, upgraded or rebuilt when the store opens (services.projector.schema).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from prometheus_client import Counter
from sqlalchemy import Connection, bindparam, select, update

from schemas.events import Envelope
from services.platform.settings import store_kind
from services.platform.sql import begin, engine_for, upsert
from services.projector import register
from services.projector.projection import evolve, initial_state
from services.projector.register import Change
from services.projector.schema import (
    READ_MODEL_VERSION,
    SCHEMA_LOCK,
    cascade_outbox,
    prepare,
    projector_offsets,
    subject_requests,
    subject_state,
    transfer_register,
    withdrawal_applications,
)

__all__ = ["READ_MODEL_VERSION", "SCHEMA_LOCK", "Consumed", "ProjectionStore", "canonical", "cascade_commands"]
APPLIED = Counter("consent_projector_events_applied", "Events folded into the projector's read models")


@dataclass(frozen=True)
class Consumed:
    """One record of consent.events.v1 as consumed: where it was, and its envelope (None: dead-lettered, skip it)."""

    partition: int
    offset: int
    envelope: Envelope | None


def cascade_commands(before: dict[str, Any], after: dict[str, Any], envelope: Envelope) -> list[dict[str, Any]]:
    """BlockLoyaltyCard for every card still unblocked when consent is withdrawn, ids derived from the event.

    No actor: the ledger records the sender of the cascade's topic, "projector" (decision 0018).
    """
    if envelope.name != "ConsentWithdrawn" or before["version"] >= after["version"]:
        return []
    return [
        {
            "type": "BlockLoyaltyCard",
            "command_id": f"cascade:{envelope.id}:{card_ref}",
            "subject_id": str(envelope.subject),
            "card_ref": card_ref,
            "cause_event_id": str(envelope.id),
            "reason": "consent withdrawn",
            "causation_id": str(envelope.id),
        }
        for card_ref, card in sorted(after["cards"].items())
        if card["blocked_event_id"] is None
    ]


class ProjectionStore:
    """Read models in SQLite or PostgreSQL; one instance per process."""

    def __init__(self, url: str) -> None:
        self.kind = store_kind(url)
        self._engine = engine_for(url)
        try:
            prepare(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    def close(self) -> None:
        """Close the connections."""
        self._engine.dispose()

    def next_offsets(self, topic: str) -> dict[int, int]:
        """Per partition, the offset of the next record to apply."""
        with begin(self._engine) as connection:
            return self._offsets(connection, topic)

    def _offsets(self, connection: Connection, topic: str) -> dict[int, int]:
        o = projector_offsets.c
        rows = connection.execute(select(o.partition_id, o.next_offset).where(o.topic == topic))
        return {int(p): int(n) for p, n in rows}

    def apply(self, topic: str, records: Sequence[Consumed]) -> int:
        """Fold a batch into the read models and move the offsets, atomically; return how many were new.

        The batch's events are folded per subject in memory, in the order of the records; then the
        rows they changed are written by one bulk upsert per table, with the offsets, in one transaction.
        """
        with begin(self._engine, immediate=True) as connection:
            offsets = self._offsets(connection, topic)
            fresh = [r for r in records if r.offset >= offsets.get(r.partition, 0)]
            if not fresh:
                return 0
            events = [(str(r.envelope.subject), r.envelope) for r in fresh if r.envelope is not None]  # text once
            stored = self._load(connection, {subject for subject, _ in events})
            states = dict(stored)
            outbox: list[dict[str, Any]] = []
            for subject, envelope in events:
                before = states.get(subject) or initial_state(subject)
                states[subject] = evolve(before, envelope)
                outbox += cascade_commands(before, states[subject], envelope)
            changed = [Change(stored.get(s), after) for s, after in states.items() if after is not stored.get(s)]
            self._save(connection, changed, outbox)
            APPLIED.inc(len(fresh))
            moved: dict[int, int] = {}
            for record in fresh:
                moved[record.partition] = max(moved.get(record.partition, 0), record.offset + 1)
            rows = [{"topic": topic, "partition_id": p, "next_offset": o} for p, o in moved.items()]
            upsert(connection, projector_offsets, rows, update=("next_offset",))
            return len(fresh)

    def _load(self, connection: Connection, subjects: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        ordered = sorted(subjects)
        s = subject_state.c
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            rows = connection.execute(select(s.subject_id, s.state).where(s.subject_id.in_(chunk)))
            found |= {subject: orjson.loads(state) for subject, state in rows}
        return found

    def _save(self, connection: Connection, changed: Sequence[Change], outbox: list[dict[str, Any]]) -> None:
        """Upsert the changed states, the transfers they added, their changed register rows and the cascade."""
        upsert(
            connection, subject_state,
            [{"subject_id": s["subject_id"], "version": s["version"], "position": s["position"], "state": canonical(s),
              **_term_columns(s)}
             for _, s in changed],
            update=("version", "position", "state", "consent_id", "valid_until"),
        )  # fmt: skip
        transfers = [
            {
                "event_id": t["event_id"], "subject_id": after["subject_id"], "recipient": t["recipient"],
                "country": t["country"], "purpose": t["purpose"], "categories": ",".join(t["categories"]),
                "at": t["at"],
            }
            for before, after in changed
            for t in after["transfers"][len(before["transfers"]) if before else 0 :]  # evolve only appends to it
        ]  # fmt: skip
        upsert(connection, transfer_register, transfers)
        register.save(connection, changed)
        commands = [
            {"command_id": c["command_id"], "subject_id": c["subject_id"], "command": canonical(c), "sent": 0}
            for c in outbox
        ]
        upsert(connection, cascade_outbox, commands)

    def state(self, subject_id: str) -> dict[str, Any] | None:
        """The subject's current state, or None if no event about it was seen."""
        query = select(subject_state.c.state).where(subject_state.c.subject_id == subject_id)
        with begin(self._engine) as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else dict(orjson.loads(found))

    def states_by_chunk(
        self, subject_ids: Sequence[str], chunk: int
    ) -> Iterator[tuple[Sequence[str], dict[str, dict[str, Any]]]]:
        """`chunk` of `subject_ids` at a time, in their order, with the current states of those seen (bulk checks).

        Each chunk is one query in its own short transaction, so a long answer streams without
        holding a connection (SQLite's one) from the consumer between chunks.
        """
        s = subject_state.c
        for start in range(0, len(subject_ids), chunk):
            asked = subject_ids[start : start + chunk]
            with begin(self._engine) as connection:
                rows = connection.execute(select(s.subject_id, s.state).where(s.subject_id.in_(set(asked)))).fetchall()
            yield asked, {subject: orjson.loads(state) for subject, state in rows}

    def unsent_cascade(self, limit: int = 500) -> list[dict[str, Any]]:
        """Cascade commands recorded but not yet sent to consent.commands.projector.v1."""
        c = cascade_outbox.c
        query = select(c.command).where(c.sent == 0).order_by(c.command_id).limit(limit)
        with begin(self._engine) as connection:
            return [orjson.loads(command) for command in connection.execute(query).scalars()]

    def mark_sent(self, command_ids: Sequence[str]) -> None:
        """Remember that these cascade commands reached Kafka."""
        if not command_ids:
            return
        sent = update(cascade_outbox).where(cascade_outbox.c.command_id == bindparam("sent_id")).values(sent=1)
        with begin(self._engine) as connection:
            connection.execute(sent, [{"sent_id": i} for i in command_ids])

    def open_requests(self, due_before: date | None = None) -> list[dict[str, Any]]:
        """Every open subject request with its due date (and a withdrawal's effective day), soonest first.

        Only those due before `due_before` if given.
        """
        with begin(self._engine) as connection:
            return register.open_requests(connection, due_before)

    def subject_requests(self, subject_id: str) -> list[dict[str, Any]]:
        """Every request of one subject: open, answered (with what was sent) or rejected (with why)."""
        with begin(self._engine) as connection:
            return register.subject_requests_of(connection, subject_id)

    def withdrawal_applications(self, status: str | None = "pending") -> list[dict[str, Any]]:
        """Withdrawal applications with `status` (every one if None), the soonest to take effect first."""
        with begin(self._engine) as connection:
            return register.withdrawal_applications_with(connection, status)

    def expiring_consents(self, first: date, last: date) -> list[dict[str, Any]]:
        """Consents in force whose last day lies from `first` to `last` (both included), soonest first."""
        s = subject_state.c
        query = (
            select(s.subject_id, s.consent_id, s.valid_until)
            .where(s.valid_until >= first.isoformat(), s.valid_until <= last.isoformat())
            .order_by(s.valid_until, s.subject_id)
        )
        with begin(self._engine) as connection:
            rows = connection.execute(query).fetchall()
        return [
            {"subject_id": subject, "consent_id": consent, "valid_until": until, "event_id": consent}
            for subject, consent, until in rows
        ]

    def dump(self) -> dict[str, list[Any]]:
        """Every row of every read model, in a stable order (to compare a replay with the live store)."""
        orders = {
            subject_state: ("subject_id",),
            transfer_register: ("event_id",),
            subject_requests: ("subject_id", "request_id"),
            withdrawal_applications: ("subject_id", "event_id"),
        }
        with begin(self._engine) as connection:
            return {
                table.name: [list(row) for row in connection.execute(select(table).order_by(*(table.c[n] for n in by)))]
                for table, by in orders.items()
            }


def consent_term(state: dict[str, Any]) -> tuple[str, str] | None:
    """The consent in force's id (its ConsentGranted) and last day, if it has a term; None otherwise.

    In force: active or with a withdrawal pending, and the subject's data not erased. An expired or
    withdrawn consent has none, and one whose day has passed before its expiry was recorded is left
    out by the query, not here.
    """
    consent = state["consent"]
    if consent is None or state["status"] not in ("active", "withdrawal_pending") or state["erased"] is not None:
        return None
    return None if consent["valid_until"] is None else (consent["event_id"], consent["valid_until"])


def _term_columns(state: dict[str, Any]) -> dict[str, str | None]:
    term = consent_term(state)
    return {"consent_id": term[0], "valid_until": term[1]} if term else {"consent_id": None, "valid_until": None}


def canonical(document: dict[str, Any]) -> str:
    """Canonical JSON text (sorted keys), so equal states are equal rows."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
