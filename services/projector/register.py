"""The request register: subject requests and withdrawal applications, as rows kept beside the subject states.

`save` writes the rows a batch changed (of the states it changed) inside the store's batch
transaction, so they move with the offsets; the queries read them back. Every function takes the open connection; the
same statements run on SQLite and PostgreSQL (the tables are in services.projector.schema).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Result, and_, case, func, select

from services.platform.sql import upsert
from services.projector.schema import subject_requests, withdrawal_applications

# entered_late_by_days: how many days after its paper date the ledger recorded it (None on older events).
_REQUEST = ("kind", "received_on", "due_on", "entered_late_by_days", "status", "answered_on", "response_ref", "reason")
_APPLICATION = (
    "filed_on", "effective_on", "entered_late_by_days", "status", "outcome_event_id", "reason", "legal_basis",
)  # fmt: skip


def _effective_on() -> ColumnElement[Any]:
    """An open withdrawal request shows the day the subject's pending withdrawal application takes effect."""
    r, w = subject_requests, withdrawal_applications.alias("w")
    pending = (
        select(func.min(w.c.effective_on))
        .where(w.c.subject_id == r.c.subject_id, w.c.status == "pending")
        .scalar_subquery()
    )
    return case((and_(r.c.kind == "withdrawal", r.c.status == "open"), pending)).label("effective_on")


class Change(NamedTuple):
    """A subject's state as stored before a batch (None: new) and after it."""

    before: dict[str, Any] | None
    after: dict[str, Any]


def _changed(change: Change, part: str) -> list[tuple[str, dict[str, Any]]]:
    """The entries of `part` (requests, withdrawals) the batch added or replaced.

    `evolve` copies on write, so an entry the batch did not touch is the very object that was stored.
    """
    known = change.before[part] if change.before is not None else {}
    return [(key, entry) for key, entry in change.after[part].items() if known.get(key) is not entry]


def save(connection: Connection, changes: Sequence[Change]) -> None:
    """Upsert the requests and withdrawal applications the batch added or changed."""
    requests = [
        {"subject_id": c.after["subject_id"], "request_id": request_id, **{name: request[name] for name in _REQUEST}}
        for c in changes
        for request_id, request in _changed(c, "requests")
    ]
    upsert(connection, subject_requests, requests, update=("status", "answered_on", "response_ref", "reason"))
    applications = [
        {
            "subject_id": c.after["subject_id"], "event_id": event_id,
            **{name: application[name] for name in _APPLICATION},
        }
        for c in changes
        for event_id, application in _changed(c, "withdrawals")
    ]  # fmt: skip
    upsert(
        connection, withdrawal_applications, applications,
        update=("status", "outcome_event_id", "reason", "legal_basis"),
    )  # fmt: skip


def open_requests(connection: Connection, due_before: date | None) -> list[dict[str, Any]]:
    """Open requests due before a day (any day if None), soonest first, withdrawals with their effective day."""
    r = subject_requests.c
    names = ("subject_id", "request_id", "kind", "received_on", "due_on", "entered_late_by_days")
    query = select(*(r[name] for name in names), _effective_on()).where(
        r.status == "open", r.due_on < (due_before or date.max).isoformat()
    )
    return _rows(connection.execute(query), ("due_on", "subject_id", "request_id"))


def subject_requests_of(connection: Connection, subject_id: str) -> list[dict[str, Any]]:
    """Every request of one subject, open or closed, in the order received."""
    r = subject_requests.c
    query = select(r.request_id, *(r[name] for name in _REQUEST), _effective_on()).where(r.subject_id == subject_id)
    return _rows(connection.execute(query), ("received_on", "request_id"))


def withdrawal_applications_with(connection: Connection, status: str | None) -> list[dict[str, Any]]:
    """Withdrawal applications with `status` (every one if None), the soonest to take effect first."""
    w = withdrawal_applications.c
    query = select(w.subject_id, w.event_id, *(w[name] for name in _APPLICATION))
    if status is not None:
        query = query.where(w.status == status)
    return _rows(connection.execute(query), ("effective_on", "subject_id", "event_id"))


def _rows(result: Result[Any], order: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows as dicts, sorted here by code point: PostgreSQL's ORDER BY follows the database's collation."""
    rows = [dict(row._mapping) for row in result]
    return sorted(rows, key=lambda row: tuple(row[name] for name in order))
