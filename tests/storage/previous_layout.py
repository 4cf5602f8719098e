"""The layout the code wrote before SQLAlchemy and Alembic (the tables only, no version table), with synthetic rows.

The CREATE statements are copied verbatim from services/ledger/adapters/forms.py, services/ledger/adapters/pii/keys.py,
services/projector/store.py and services/projector/register.py as they were before the change; the
key store ran its PostgreSQL text on SQLite through the same `_sqlite` rewriting. Do not edit them
to follow the current layout: they are what an existing database looks like.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from services.ledger.adapters.pii.keys import MasterKey
from services.platform.database import libpq_url, sqlite_file
from services.platform.settings import store_kind

FORMS = """CREATE TABLE IF NOT EXISTS consent_forms (
    text_sha256 TEXT PRIMARY KEY, form_id TEXT NOT NULL, form_version TEXT NOT NULL, language TEXT NOT NULL,
    text TEXT NOT NULL, registered_at TEXT NOT NULL)"""
KEYS = """
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    wrapped_key BYTEA,
    created_at TIMESTAMPTZ NOT NULL,
    destroyed_at TIMESTAMPTZ,
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
)
"""
PROJECTOR = [
    "CREATE TABLE IF NOT EXISTS projector_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
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

FORM_TEXT = "Synthetic consent form text, version 2025.4 (no personal data)."
FORM_SHA256 = hashlib.sha256(FORM_TEXT.encode()).hexdigest()
KEPT, ERASED = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
TOPIC = "consent.events.v1"
OFFSETS = {0: 17, 1: 4}
STATE = {"subject_id": KEPT, "version": 3, "position": 16, "note": "synthetic"}


def _sqlite(query: str) -> str:
    """The old key store's rewriting of its PostgreSQL text for SQLite (copied)."""
    return query.replace("%s", "?").replace("BYTEA", "BLOB").replace("TIMESTAMPTZ", "TEXT")


@dataclass(frozen=True)
class Written:
    """What was written in the previous layout, to read back after the upgrade."""

    key: bytes  # the subject key of KEPT, wrapped by `master` in the table
    master: MasterKey


def _run(url: str, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    """Run (statement, params) pairs with the driver alone, as the old code did (%s marks, PostgreSQL's text)."""
    if store_kind(url) == "sqlite":
        with sqlite3.connect(sqlite_file(url)) as db:
            for query, params in statements:
                db.execute(_sqlite(query), tuple(p.isoformat() if isinstance(p, datetime) else p for p in params))
        return
    with psycopg.connect(libpq_url(url), autocommit=True) as db:
        for query, params in statements:
            db.execute(query, params)


def write_ledger_tables(url: str, key: bytes, master: MasterKey) -> Written:
    """consent_forms with one form text, subject_keys with one live key (KEPT) and one tombstone (ERASED)."""
    now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    form = (FORM_SHA256, "loyalty-consent", "2025.4", "ru", FORM_TEXT, now.isoformat())
    _run(url, [
        (FORMS, ()),
        (KEYS, ()),
        ("INSERT INTO consent_forms VALUES (%s, %s, %s, %s, %s, %s)", form),
        ("INSERT INTO subject_keys (subject_id, key_id, wrapped_key, created_at) VALUES (%s, %s, %s, %s)",
         (KEPT, master.key_id, master.wrap(KEPT, key), now)),
        ("INSERT INTO subject_keys VALUES (%s, %s, NULL, %s, %s)", (ERASED, master.key_id, now, now)),
    ])  # fmt: skip
    return Written(key, master)


def write_projector_tables(url: str, read_model_version: str = "3") -> None:
    """The projector's tables with offsets, one subject state, one open request and the read-model version."""
    state = orjson.dumps(STATE, option=orjson.OPT_SORT_KEYS).decode()
    request = (KEPT, "rq-0001", "access", "2026-01-10", "2026-01-20", None, "open", None, None, None)
    rows: list[tuple[str, tuple[Any, ...]]] = [(statement, ()) for statement in PROJECTOR]
    rows += [
        ("INSERT INTO projector_meta VALUES (%s, %s)", ("read_model_version", read_model_version)),
        *(("INSERT INTO projector_offsets VALUES (%s, %s, %s)", (TOPIC, p, o)) for p, o in OFFSETS.items()),
        ("INSERT INTO subject_state VALUES (%s, %s, %s, %s)", (KEPT, 3, 16, state)),
        ("INSERT INTO subject_requests VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", request),
    ]
    _run(url, rows)


def tables(url: str) -> set[str]:
    """The names of the tables in the database at `url`."""
    if store_kind(url) == "sqlite":
        with sqlite3.connect(sqlite_file(url)) as db:
            return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with psycopg.connect(libpq_url(url)) as db:
        rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}
