"""The stores beside the event store behave the same on SQLite and PostgreSQL, and their tables come from Alembic.

Every test runs against both backends (store_url); the PostgreSQL one is a fresh database of its own.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.devstack.processes import free_port
from services.ledger.adapters import tables as ledger_tables
from services.ledger.adapters.forms import Form, FormTexts
from services.ledger.adapters.pii.keys import MasterKey, SqlKeyStore, SubjectErasedError
from services.ledger.adapters.store import key_store
from services.migrations import upgrade
from services.platform.database import StoreUnavailableError
from services.platform.schema import when_reachable
from services.platform.sql import begin, engine_for, sqlalchemy_url
from services.projector import schema as projector_schema
from services.projector.store import Consumed, ProjectionStore
from tests.storage.previous_layout import tables
from tests.storage.support import differences, revision

LEDGER_TABLES = {"consent_forms", "subject_keys", "ledger_commands", "alembic_version_ledger"}
PROJECTOR_TABLES = {
    "projector_meta", "projector_offsets", "subject_state", "transfer_register", "cascade_outbox",
    "subject_requests", "withdrawal_applications", "alembic_version_projector",
}  # fmt: skip
NOW = datetime(2026, 5, 4, 5, 0, tzinfo=UTC)


def new_master() -> MasterKey:
    return MasterKey.from_base64(base64.b64encode(os.urandom(32)).decode())


def test_a_form_text_is_kept_once_and_read_back_by_another_process(store_url: str) -> None:
    forms = FormTexts(store_url)
    form = Form("loyalty-consent", "2026.1", "kk", "Synthetic form text for the storage contract.")

    digest = forms.register(form, NOW)
    assert forms.register(form, datetime(2026, 6, 1, tzinfo=UTC)) == digest == form.text_sha256
    reader = FormTexts(store_url)
    assert reader.text(digest) == form.text
    assert reader.text("0" * 64) is None
    assert reader.texts([digest, "0" * 64, digest]) == {digest: form.text}
    forms.close()
    reader.close()


def test_a_subject_key_is_created_once_read_back_and_destroyed_for_good(store_url: str) -> None:
    master = new_master()
    store, other = key_store(store_url, master), key_store(store_url, master)
    assert isinstance(store, SqlKeyStore)

    key = store.create("subject-a")
    assert store.create("subject-a") == key
    assert other.get("subject-a") == key
    assert other.get("subject-never") is None
    assert (store.destroy("subject-a"), store.destroy("subject-a")) == (True, False)
    assert other.is_destroyed("subject-a")
    with pytest.raises(SubjectErasedError):
        other.get("subject-a")
    with pytest.raises(SubjectErasedError):
        other.create("subject-a")
    assert (store.destroy("subject-b"), store.is_destroyed("subject-b")) == (False, True)  # a tombstone
    assert not store.is_destroyed("subject-never")
    store.close()
    other.close()


def test_the_ledger_side_tables_are_made_by_alembic_and_upgrading_again_changes_nothing(store_url: str) -> None:
    FormTexts(store_url).close()
    migrations = ledger_tables.MIGRATIONS

    assert tables(store_url) == LEDGER_TABLES
    assert revision(store_url, migrations) == migrations.head() == "0002"
    assert differences(store_url, ledger_tables.METADATA, migrations) == []
    assert upgrade(store_url, "ledger").startswith("ledger side tables: already at 0002")
    key_store(store_url, new_master()).close()
    assert tables(store_url) == LEDGER_TABLES
    assert revision(store_url, migrations) == "0002"


def test_the_projector_tables_are_made_by_alembic_and_upgrading_again_changes_nothing(store_url: str) -> None:
    store = ProjectionStore(store_url)
    store.apply("t", [Consumed(0, 0, None), Consumed(1, 4, None)])
    store.close()
    migrations = projector_schema.MIGRATIONS

    assert tables(store_url) == PROJECTOR_TABLES
    assert revision(store_url, migrations) == migrations.head() == "0002"
    assert differences(store_url, projector_schema.METADATA, migrations) == []
    assert upgrade(store_url, "projector").startswith("projector read model: already at 0002")
    reopened = ProjectionStore(store_url)
    assert reopened.next_offsets("t") == {0: 1, 1: 5}  # nothing was rebuilt
    reopened.close()
    assert tables(store_url) == PROJECTOR_TABLES


def test_the_ledger_and_the_projector_share_one_database_each_with_its_own_version_table(store_url: str) -> None:
    FormTexts(store_url).close()
    ProjectionStore(store_url).close()

    assert tables(store_url) == LEDGER_TABLES | PROJECTOR_TABLES
    assert (revision(store_url, ledger_tables.MIGRATIONS), revision(store_url, projector_schema.MIGRATIONS)) == (
        "0002",
        "0002",
    )


def test_processes_opening_the_stores_at_once_make_each_table_once(store_url: str) -> None:
    opens = (
        "import base64, os, sys; from services.ledger.adapters.forms import FormTexts; "
        "from services.ledger.adapters.pii.keys import MasterKey; "
        "from services.ledger.adapters.store import key_store; "
        "from services.projector.store import ProjectionStore; url = sys.argv[1]; "
        "ProjectionStore(url).close(); FormTexts(url).close(); key_store(url, MasterKey(os.urandom(32))).close()"
    )
    processes = [subprocess.Popen([sys.executable, "-c", opens, store_url]) for _ in range(3)]
    try:
        codes = [process.wait(timeout=120) for process in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait()

    assert codes == [0, 0, 0]
    assert tables(store_url) == LEDGER_TABLES | PROJECTOR_TABLES
    assert (revision(store_url, ledger_tables.MIGRATIONS), revision(store_url, projector_schema.MIGRATIONS)) == (
        "0002",
        "0002",
    )


def test_a_database_that_is_away_is_store_unavailable_and_a_start_waits_for_it_only_so_long() -> None:
    engine = engine_for(f"postgresql://postgres@127.0.0.1:{free_port()}/absent")

    def touch() -> None:
        with begin(engine):
            pass

    with pytest.raises(StoreUnavailableError, match="postgresql store is not available: OperationalError"):
        touch()
    with pytest.raises(StoreUnavailableError):
        when_reachable(touch, timeout_s=1.0)
    engine.dispose()


def test_every_form_of_store_url_the_project_uses_reaches_the_same_database(tmp_path: Path) -> None:
    for url in ("postgresql://u:p%40ss@db.example:5433/ledger", "postgresql+psycopg://u:p%40ss@db.example:5433/ledger",
                "host=db.example port=5433 dbname=ledger user=u password=p@ss"):  # fmt: skip
        parsed = sqlalchemy_url(url)
        assert (parsed.drivername, parsed.host, parsed.port, parsed.database) == (
            "postgresql+psycopg", "db.example", 5433, "ledger",
        )  # fmt: skip
        assert (parsed.username, parsed.password) == ("u", "p@ss")
    assert str(sqlalchemy_url(f"sqlite:///{tmp_path}/a/b.sqlite3")) == f"sqlite:///{tmp_path}/a/b.sqlite3"
