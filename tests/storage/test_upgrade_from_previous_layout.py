"""A database written by the code before SQLAlchemy and Alembic upgrades in place: every row is still there and reads.

The previous layout is made with the old CREATE statements (tests/storage/previous_layout.py) and
synthetic rows, on SQLite and on PostgreSQL; then the current stores open it, which runs the migrations.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import MetaData, text

from services.ledger.adapters import tables as ledger_tables
from services.ledger.adapters.calendar import KazakhCalendar
from services.ledger.adapters.forms import Form, FormTexts
from services.ledger.adapters.pii.cipher import PiiCipher
from services.ledger.adapters.pii.keys import MasterKey, SubjectErasedError
from services.ledger.adapters.store import eventsourcing_env, key_store
from services.ledger.application.ledger import Ledger, Outcome
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.state import Context
from services.ledger.domain.vocabulary import Channel
from services.migrations import upgrade
from services.platform.sql import engine_for
from services.projector import schema as projector_schema
from services.projector.store import Consumed, ProjectionStore
from tests.storage import previous_layout as previous
from tests.storage.support import differences, revision


def beyond_sqlite_keys(url: str, metadata: MetaData, found: list[Any]) -> list[Any]:
    """`found` less what only SQLite's old inline `TEXT PRIMARY KEY` left: a primary key column that allows NULL.

    (A quirk of SQLite; no code of ours ever writes a NULL key, and rewriting the key table to fix it
    would copy every wrapped key.)
    """
    if not url.startswith("sqlite"):
        return found

    def key_allows_null(change: Any) -> bool:
        if not (isinstance(change, list) and len(change) == 1 and change[0][0] == "modify_nullable"):
            return False
        _, _, table, column, _, was_nullable, nullable = change[0]
        return bool(was_nullable and not nullable and metadata.tables[table].c[column].primary_key)

    return [change for change in found if not key_allows_null(change)]


def test_form_texts_and_subject_keys_of_the_previous_layout_read_after_the_upgrade(store_url: str) -> None:
    master = MasterKey.from_base64(base64.b64encode(os.urandom(32)).decode())
    written = previous.write_ledger_tables(store_url, os.urandom(32), master)
    assert revision(store_url, ledger_tables.MIGRATIONS) is None  # no version table yet

    forms, keys = FormTexts(store_url), key_store(store_url, written.master)

    assert revision(store_url, ledger_tables.MIGRATIONS) == "0002"
    assert forms.text(previous.FORM_SHA256) == previous.FORM_TEXT
    assert keys.get(previous.KEPT) == written.key  # the stored key still unwraps with the master key
    with pytest.raises(SubjectErasedError):
        keys.get(previous.ERASED)
    assert keys.is_destroyed(previous.ERASED)
    assert keys.destroy(previous.KEPT)  # and the rows take new writes
    new = Form("loyalty-consent", "2026.1", "kk", "Another synthetic form text.")
    assert forms.text(forms.register(new, datetime(2026, 5, 4, tzinfo=UTC))) == new.text
    forms.close()
    keys.close()
    found = differences(store_url, ledger_tables.METADATA, ledger_tables.MIGRATIONS)
    assert beyond_sqlite_keys(store_url, ledger_tables.METADATA, found) == []


def test_projector_offsets_and_states_of_the_previous_layout_read_after_the_upgrade(store_url: str) -> None:
    previous.write_projector_tables(store_url)
    before = previous.tables(store_url)

    store = ProjectionStore(store_url)

    assert previous.tables(store_url) == before | {"alembic_version_projector"}
    assert revision(store_url, projector_schema.MIGRATIONS) == "0002"
    assert store.next_offsets(previous.TOPIC) == previous.OFFSETS  # nothing was rebuilt: version 3 stays
    assert store.state(previous.KEPT) == previous.STATE
    assert [r["request_id"] for r in store.subject_requests(previous.KEPT)] == ["rq-0001"]
    assert store.apply(previous.TOPIC, [Consumed(0, 16, None), Consumed(0, 17, None)]) == 1
    assert store.next_offsets(previous.TOPIC) == {**previous.OFFSETS, 0: 18}
    store.close()
    found = differences(store_url, projector_schema.METADATA, projector_schema.MIGRATIONS)
    assert beyond_sqlite_keys(store_url, projector_schema.METADATA, found) == []


def test_a_previous_store_of_another_read_model_version_is_rebuilt_from_offset_0(store_url: str) -> None:
    previous.write_projector_tables(store_url, read_model_version="2")

    report = upgrade(store_url, "projector")

    assert "read models of version 2 dropped" in report
    store = ProjectionStore(store_url)
    assert store.next_offsets(previous.TOPIC) == {}
    assert store.state(previous.KEPT) is None
    store.close()
    assert revision(store_url, projector_schema.MIGRATIONS) == "0002"
    assert upgrade(store_url, "projector").startswith("projector read model: already at 0002")


def test_a_store_of_events_written_before_ledger_commands_answers_repeats_of_its_old_commands(store_url: str) -> None:
    # The previous layout: events recorded, but no ledger_commands table and revision 0001.
    ledger = Ledger(
        eventsourcing_env(store_url), calendar=KazakhCalendar(), cipher=PiiCipher(key_store(store_url, MASTER))
    )
    subject = uuid4()
    first = _opt_out(ledger, subject, "old-1", "digest-1")
    second = _opt_out(ledger, subject, "old-2", "digest-2", Channel.EMAIL)
    ledger.close()
    engine = engine_for(store_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE ledger_commands"))
        connection.execute(text("UPDATE alembic_version_ledger SET version_num = '0001'"))
    engine.dispose()

    upgraded = Ledger(
        eventsourcing_env(store_url), calendar=KazakhCalendar(), cipher=PiiCipher(key_store(store_url, MASTER))
    )
    try:
        assert revision(store_url, ledger_tables.MIGRATIONS) == "0002"
        repeat = _opt_out(upgraded, subject, "old-1", "digest-1")
        assert (repeat.replayed, repeat.event_ids) == (True, first.event_ids)
        assert _opt_out(upgraded, subject, "old-2", "digest-2", Channel.EMAIL).event_ids == second.event_ids
        with pytest.raises(RuleViolationError) as reuse:
            _opt_out(upgraded, subject, "old-1", "another digest")
        assert reuse.value.rule == "command_id_reused"
        assert upgraded.history(subject)[1] is not None
        assert len(upgraded.history(subject)[0]) == 2  # nothing recorded twice
    finally:
        upgraded.close()


MASTER = MasterKey.from_base64(base64.b64encode(os.urandom(32)).decode())


def _ledger(store_url: str) -> Ledger:
    return Ledger(
        eventsourcing_env(store_url), calendar=KazakhCalendar(), cipher=PiiCipher(key_store(store_url, MASTER))
    )


def _opt_out(ledger: Ledger, subject: UUID, command_id: str, digest: str, channel: Channel = Channel.SMS) -> Outcome:
    ctx = Context(command_id, "consultant-17", datetime(2026, 5, 4, 5, tzinfo=UTC), command_digest=digest)
    return ledger.execute(subject, ctx, lambda s: s.opt_out_of_marketing(ctx, [channel]))
