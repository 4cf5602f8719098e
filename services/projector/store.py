"""The projector's read models and its consumed offsets, written in ONE transaction per batch.

A record at an offset below the stored next offset of its partition was applied already and is
skipped, so redelivery after a crash changes nothing; replaying from offset 0 into an empty store
gives the same rows. Works on SQLite (embedded default) and PostgreSQL, through the DB-API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from prometheus_client import Counter

from schemas.events import Envelope
from services.platform.database import Database
from services.projector import register
from services.projector.projection import evolve, initial_state

log = logging.getLogger(__name__)
APPLIED = Counter("consent_projector_events_applied", "Events folded into the projector's read models")
# Bump when the state kept per subject or the tables change: a store of another version is rebuilt.
READ_MODEL_VERSION = 3  # 3: the register shows how late each paper application or request was entered
SCHEMA_LOCK = 0x70726F6A  # "proj": serialises instances creating or rebuilding the tables
TABLES = (
    "projector_offsets", "subject_state", "transfer_register", "subject_requests", "withdrawal_applications",
    "cascade_outbox",
)  # fmt: skip
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS projector_offsets (
        topic TEXT NOT NULL, partition_id INTEGER NOT NULL, next_offset BIGINT NOT NULL,
        PRIMARY KEY (topic, partition_id))""",
    """CREATE TABLE IF NOT EXISTS subject_state (
        subject_id TEXT PRIMARY KEY, version INTEGER NOT NULL, position BIGINT NOT NULL, state TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS transfer_register (
        event_id TEXT PRIMARY KEY, subject_id TEXT NOT NULL, recipient TEXT NOT NULL, country TEXT NOT NULL,
        purpose TEXT NOT NULL, categories TEXT NOT NULL, at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS cascade_outbox (
        command_id TEXT PRIMARY KEY, subject_id TEXT NOT NULL, command TEXT NOT NULL, sent INTEGER NOT NULL)""",
    *register.SCHEMA,
]


@dataclass(frozen=True)
class Consumed:
    """One record of consent.events.v1 as consumed: where it was, and its envelope (None: dead-lettered, skip it)."""

    partition: int
    offset: int
    envelope: Envelope | None


def cascade_commands(before: dict[str, Any], after: dict[str, Any], envelope: Envelope) -> list[dict[str, Any]]:
    """BlockLoyaltyCard for every card still unblocked when consent is withdrawn, ids derived from the event."""
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
            "actor": "projector",
        }
        for card_ref, card in sorted(after["cards"].items())
        if card["blocked_event_id"] is None
    ]


class ProjectionStore:
    """Read models in SQLite or PostgreSQL; one instance per process."""

    def __init__(self, url: str) -> None:
        self._db = Database(url)
        self.kind = self._db.kind
        self._sql = self._db.sql
        with self._db.transaction() as cursor:
            self._create_or_rebuild(cursor)

    def _create_or_rebuild(self, cursor: Any) -> None:
        """Create the tables; read models of another version are dropped with their offsets, so the
        projector rebuilds them from offset 0 (the log is the source; cascade command ids repeat harmlessly)."""
        if self.kind == "postgresql":  # instances starting together: one decides at a time
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        cursor.execute("CREATE TABLE IF NOT EXISTS projector_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        cursor.execute(self._sql("SELECT value FROM projector_meta WHERE name = %s"), ("read_model_version",))
        row = cursor.fetchone()
        if row is not None and int(row[0]) == READ_MODEL_VERSION:
            return
        if row is not None or self._has_table(cursor, "subject_state"):
            found = row[0] if row else "1"
            log.warning(
                "read models of version %s found: rebuilding version %s from offset 0", found, READ_MODEL_VERSION
            )
            for table in TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in SCHEMA:
            cursor.execute(statement)
        cursor.execute(
            self._sql(
                "INSERT INTO projector_meta (name, value) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            ),
            ("read_model_version", str(READ_MODEL_VERSION)),
        )

    def _has_table(self, cursor: Any, table: str) -> bool:
        if self.kind == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
            return cursor.fetchone() is not None
        cursor.execute("SELECT to_regclass(%s)", (table,))
        return cursor.fetchone()[0] is not None

    def close(self) -> None:
        """Close the connections."""
        self._db.close()

    def next_offsets(self, topic: str) -> dict[int, int]:
        """Per partition, the offset of the next record to apply."""
        with self._db.transaction() as cursor:
            return self._offsets(cursor, topic)

    def _offsets(self, cursor: Any, topic: str) -> dict[int, int]:
        cursor.execute(self._sql("SELECT partition_id, next_offset FROM projector_offsets WHERE topic = %s"), (topic,))
        return {int(p): int(o) for p, o in cursor.fetchall()}

    def apply(self, topic: str, records: Sequence[Consumed]) -> int:
        """Fold a batch into the read models and move the offsets, atomically; return how many were new."""
        with self._db.transaction() as cursor:
            offsets = self._offsets(cursor, topic)
            fresh = [r for r in records if r.offset >= offsets.get(r.partition, 0)]
            if not fresh:
                return 0
            events = [(r, r.envelope) for r in fresh if r.envelope is not None]
            states = self._load(cursor, {str(envelope.subject) for _, envelope in events})
            outbox: list[dict[str, Any]] = []
            for _, envelope in events:
                subject = str(envelope.subject)
                before = states.get(subject) or initial_state(subject)
                states[subject] = evolve(before, envelope)
                outbox += cascade_commands(before, states[subject], envelope)
            self._save(cursor, states.values(), outbox)
            APPLIED.inc(len(fresh))
            moved: dict[int, int] = {}
            for record in fresh:
                moved[record.partition] = max(moved.get(record.partition, 0), record.offset + 1)
            cursor.executemany(
                self._sql(
                    "INSERT INTO projector_offsets (topic, partition_id, next_offset) VALUES (%s, %s, %s) "
                    "ON CONFLICT (topic, partition_id) DO UPDATE SET next_offset = excluded.next_offset"
                ),
                [(topic, partition, offset) for partition, offset in moved.items()],
            )
            return len(fresh)

    def _load(self, cursor: Any, subjects: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        ordered = sorted(subjects)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            query = f"SELECT subject_id, state FROM subject_state WHERE subject_id IN ({marks})"  # noqa: S608 - only %s marks
            cursor.execute(self._sql(query), chunk)
            found |= {subject: orjson.loads(state) for subject, state in cursor.fetchall()}
        return found

    def _save(self, cursor: Any, states: Iterable[dict[str, Any]], outbox: list[dict[str, Any]]) -> None:
        rows = list(states)
        cursor.executemany(
            self._sql(
                "INSERT INTO subject_state (subject_id, version, position, state) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (subject_id) DO UPDATE SET version = excluded.version, "
                "position = excluded.position, state = excluded.state"
            ),
            [(s["subject_id"], s["version"], s["position"], canonical(s)) for s in rows],
        )
        cursor.executemany(
            self._sql(
                "INSERT INTO transfer_register (event_id, subject_id, recipient, country, purpose, categories, at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING"
            ),
            [
                (
                    t["event_id"],
                    s["subject_id"],
                    t["recipient"],
                    t["country"],
                    t["purpose"],
                    ",".join(t["categories"]),
                    t["at"],
                )
                for s in rows
                for t in s["transfers"]
            ],
        )
        register.save(cursor, self._sql, rows)
        cursor.executemany(
            self._sql(
                "INSERT INTO cascade_outbox (command_id, subject_id, command, sent) VALUES (%s, %s, %s, 0) "
                "ON CONFLICT (command_id) DO NOTHING"
            ),
            [(c["command_id"], c["subject_id"], canonical(c)) for c in outbox],
        )

    def state(self, subject_id: str) -> dict[str, Any] | None:
        """The subject's current state, or None if no event about it was seen."""
        return self.states([subject_id]).get(subject_id)

    def states(self, subject_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Current states of many subjects (bulk checks)."""
        with self._db.transaction() as cursor:
            return self._load(cursor, set(subject_ids))

    def unsent_cascade(self, limit: int = 500) -> list[dict[str, Any]]:
        """Cascade commands recorded but not yet sent to consent.commands.v1."""
        with self._db.transaction() as cursor:
            cursor.execute(
                self._sql("SELECT command FROM cascade_outbox WHERE sent = 0 ORDER BY command_id LIMIT %s"), (limit,)
            )
            return [orjson.loads(row[0]) for row in cursor.fetchall()]

    def mark_sent(self, command_ids: Sequence[str]) -> None:
        """Remember that these cascade commands reached Kafka."""
        with self._db.transaction() as cursor:
            cursor.executemany(
                self._sql("UPDATE cascade_outbox SET sent = 1 WHERE command_id = %s"), [(i,) for i in command_ids]
            )

    def open_requests(self, due_before: date | None = None) -> list[dict[str, Any]]:
        """Every open subject request with its due date (and a withdrawal's effective day), soonest first.

        Only those due before `due_before` if given.
        """
        with self._db.transaction() as cursor:
            return register.open_requests(cursor, self._sql, due_before)

    def subject_requests(self, subject_id: str) -> list[dict[str, Any]]:
        """Every request of one subject: open, answered (with what was sent) or rejected (with why)."""
        with self._db.transaction() as cursor:
            return register.subject_requests(cursor, self._sql, subject_id)

    def withdrawal_applications(self, status: str | None = "pending") -> list[dict[str, Any]]:
        """Withdrawal applications with `status` (every one if None), the soonest to take effect first."""
        with self._db.transaction() as cursor:
            return register.withdrawal_applications(cursor, self._sql, status)

    def dump(self) -> dict[str, list[Any]]:
        """Every row of every read model, in a stable order (to compare a replay with the live store)."""
        tables = {
            "subject_state": "subject_id",
            "transfer_register": "event_id",
            "subject_requests": "subject_id, request_id",
            "withdrawal_applications": "subject_id, event_id",
        }
        with self._db.transaction() as cursor:
            dumped: dict[str, list[Any]] = {}
            for table, order in tables.items():
                cursor.execute(f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608 - fixed names
                dumped[table] = [list(row) for row in cursor.fetchall()]
            return dumped


def canonical(document: dict[str, Any]) -> str:
    """Canonical JSON text (sorted keys), so equal states are equal rows."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
