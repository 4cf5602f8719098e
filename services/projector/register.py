"""The request register: subject requests and withdrawal applications, as rows kept beside the subject states.

`save` writes the rows of the states a batch changed inside the store's batch transaction, so they
move with the offsets; the queries read them back. Every function takes the open cursor and the
store's `sql`, which adapts the `%s` marks to the backend (SQLite or PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

Sql = Callable[[str], str]

# A store of an older READ_MODEL_VERSION (store.py) is dropped and rebuilt from offset 0.
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS subject_requests (
        subject_id TEXT NOT NULL, request_id TEXT NOT NULL, kind TEXT NOT NULL, received_on TEXT NOT NULL,
        due_on TEXT NOT NULL, entered_late_by_days INTEGER, status TEXT NOT NULL, answered_on TEXT, response_ref TEXT,
        reason TEXT, PRIMARY KEY (subject_id, request_id))""",
    """CREATE TABLE IF NOT EXISTS withdrawal_applications (
        subject_id TEXT NOT NULL, event_id TEXT NOT NULL, filed_on TEXT NOT NULL, effective_on TEXT NOT NULL,
        entered_late_by_days INTEGER, status TEXT NOT NULL, outcome_event_id TEXT, reason TEXT, legal_basis TEXT,
        PRIMARY KEY (subject_id, event_id))""",
    "CREATE INDEX IF NOT EXISTS withdrawal_applications_due ON withdrawal_applications (status, effective_on)",
]

# entered_late_by_days: how many days after its paper date the ledger recorded it (None on older events).
_REQUEST = ("kind", "received_on", "due_on", "entered_late_by_days", "status", "answered_on", "response_ref", "reason")
_APPLICATION = (
    "filed_on", "effective_on", "entered_late_by_days", "status", "outcome_event_id", "reason", "legal_basis",
)  # fmt: skip
# An open withdrawal request shows the day the subject's pending withdrawal application takes effect.
_EFFECTIVE_ON = (
    "CASE WHEN r.kind = 'withdrawal' AND r.status = 'open' THEN (SELECT MIN(w.effective_on) "
    "FROM withdrawal_applications w WHERE w.subject_id = r.subject_id AND w.status = 'pending') END"
)


def save(cursor: Any, sql: Sql, states: Sequence[dict[str, Any]]) -> None:
    """Upsert every request and withdrawal application of `states`."""
    cursor.executemany(
        sql(
            "INSERT INTO subject_requests (subject_id, request_id, kind, received_on, due_on, entered_late_by_days, "
            "status, answered_on, response_ref, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (subject_id, request_id) DO UPDATE SET status = excluded.status, "
            "answered_on = excluded.answered_on, response_ref = excluded.response_ref, reason = excluded.reason"
        ),
        [
            (s["subject_id"], request_id, *(request[name] for name in _REQUEST))
            for s in states
            for request_id, request in s["requests"].items()
        ],
    )
    cursor.executemany(
        sql(
            "INSERT INTO withdrawal_applications (subject_id, event_id, filed_on, effective_on, entered_late_by_days, "
            "status, outcome_event_id, reason, legal_basis) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (subject_id, event_id) DO UPDATE SET status = excluded.status, "
            "outcome_event_id = excluded.outcome_event_id, reason = excluded.reason, legal_basis = excluded.legal_basis"
        ),
        [
            (s["subject_id"], event_id, *(application[name] for name in _APPLICATION))
            for s in states
            for event_id, application in s["withdrawals"].items()
        ],
    )


def open_requests(cursor: Any, sql: Sql, due_before: date | None) -> list[dict[str, Any]]:
    """Open requests due before a day (any day if None), soonest first, withdrawals with their effective day."""
    cursor.execute(
        sql(
            "SELECT r.subject_id, r.request_id, r.kind, r.received_on, r.due_on, r.entered_late_by_days, "  # noqa: S608
            f"{_EFFECTIVE_ON} "
            "FROM subject_requests r WHERE r.status = 'open' AND r.due_on < %s"
        ),
        ((due_before or date.max).isoformat(),),
    )
    names = ("subject_id", "request_id", "kind", "received_on", "due_on", "entered_late_by_days", "effective_on")
    return _rows(cursor, names, ("due_on", "subject_id", "request_id"))


def subject_requests(cursor: Any, sql: Sql, subject_id: str) -> list[dict[str, Any]]:
    """Every request of one subject, open or closed, in the order received."""
    cursor.execute(
        sql(
            "SELECT r.request_id, r.kind, r.received_on, r.due_on, r.entered_late_by_days, r.status, r.answered_on, "  # noqa: S608
            f"r.response_ref, r.reason, {_EFFECTIVE_ON} FROM subject_requests r "
            "WHERE r.subject_id = %s"
        ),
        (subject_id,),
    )
    return _rows(cursor, ("request_id", *_REQUEST, "effective_on"), ("received_on", "request_id"))


def withdrawal_applications(cursor: Any, sql: Sql, status: str | None) -> list[dict[str, Any]]:
    """Withdrawal applications with `status` (every one if None), the soonest to take effect first."""
    where = "WHERE status = %s " if status is not None else ""
    cursor.execute(
        sql(
            "SELECT subject_id, event_id, filed_on, effective_on, entered_late_by_days, status, outcome_event_id, "  # noqa: S608
            "reason, legal_basis "
            f"FROM withdrawal_applications {where}"
        ),
        () if status is None else (status,),
    )
    return _rows(cursor, ("subject_id", "event_id", *_APPLICATION), ("effective_on", "subject_id", "event_id"))


def _rows(cursor: Any, names: tuple[str, ...], order: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows as dicts, sorted here by code point: PostgreSQL's ORDER BY follows the database's collation."""
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return sorted(rows, key=lambda row: tuple(row[name] for name in order))
