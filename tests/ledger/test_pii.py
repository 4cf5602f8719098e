"""Crypto-shredding: personal data is readable only with its subject's key, and erasure destroys that key.

Every scenario runs against both key stores the ledger supports, SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from services.ledger.adapters.pii.cipher import (
    TOKEN_PREFIX,
    NoSubjectKeyError,
    PiiCipher,
    PiiTokenError,
    SubjectErasedError,
)
from services.ledger.adapters.pii.keys import KeyUnwrapError, MasterKey, PostgresKeyStore, SqliteKeyStore

SUBJECT_ONE = {"name": "Test Subject One", "phone": "+7 700 000 0001"}
SUBJECT_TWO = {"name": "Test Subject Two", "phone": "+7 700 000 0002"}

Store = SqliteKeyStore | PostgresKeyStore


@dataclass
class KeyDatabase:
    """One database of subject keys, opened by as many key stores ("ledger processes") as a test needs."""

    open_store: Callable[[MasterKey], Store]
    read_row: Callable[[str], tuple[Any, ...] | None]  # key_id, wrapped_key, destroyed_at straight from the table
    master: MasterKey

    def new_process(self, master: MasterKey | None = None) -> Store:
        """A key store as a freshly started process would open it: no cache, own connection."""
        return self.open_store(master or self.master)


def new_master_key() -> MasterKey:
    return MasterKey.from_base64(base64.b64encode(os.urandom(32)).decode())


def new_subject() -> str:
    return str(uuid.uuid4())


@pytest.fixture(params=["sqlite", "postgresql"])
def key_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyDatabase]:
    """A fresh database of subject keys of each kind; every store opened on it is closed afterwards."""
    opened: list[Store] = []
    query = "SELECT key_id, wrapped_key, destroyed_at FROM subject_keys WHERE subject_id = "
    if request.param == "sqlite":
        path = str(tmp_path / "keys.sqlite3")

        def open_store(master: MasterKey) -> Store:
            return SqliteKeyStore(path, master)

        def read_row(subject_id: str) -> tuple[Any, ...] | None:
            with sqlite3.connect(path) as db:
                row: tuple[Any, ...] | None = db.execute(query + "?", (subject_id,)).fetchone()
            return row
    else:
        conninfo = make_conninfo(**request.getfixturevalue("postgres_database"))

        def open_store(master: MasterKey) -> Store:
            return PostgresKeyStore(conninfo, master)

        def read_row(subject_id: str) -> tuple[Any, ...] | None:
            with psycopg.connect(conninfo) as db:
                return db.execute(query + "%s", (subject_id,)).fetchone()

    def tracked(master: MasterKey) -> Store:
        opened.append(open_store(master))
        return opened[-1]

    yield KeyDatabase(tracked, read_row, new_master_key())
    for store in opened:
        store.close()


def test_personal_data_encrypted_for_a_subject_reads_back_for_that_subject_and_shows_nothing_in_clear(
    key_database: KeyDatabase,
) -> None:
    cipher = PiiCipher(key_database.new_process())
    subject = new_subject()

    token = cipher.encrypt(subject, SUBJECT_ONE)

    assert token.startswith(TOKEN_PREFIX)
    assert cipher.decrypt(subject, token) == SUBJECT_ONE
    raw = base64.urlsafe_b64decode(token.removeprefix(TOKEN_PREFIX) + "==")
    for value in ("Test Subject One", "+7 700 000 0001", "700", "name", "phone"):
        assert value not in token
        assert value.encode() not in raw
    assert cipher.encrypt(subject, SUBJECT_ONE) != token, "the same data encrypts differently every time"


def test_a_token_copied_to_another_subject_does_not_decrypt(key_database: KeyDatabase) -> None:
    cipher = PiiCipher(key_database.new_process())
    first, second = new_subject(), new_subject()
    token = cipher.encrypt(first, SUBJECT_ONE)
    cipher.encrypt(second, SUBJECT_TWO)

    with pytest.raises(PiiTokenError, match=f"does not decrypt for subject {second}: it was made for another subject"):
        cipher.decrypt(second, token)


def test_an_altered_or_damaged_token_is_refused(key_database: KeyDatabase) -> None:
    cipher = PiiCipher(key_database.new_process())
    subject = new_subject()
    token = cipher.encrypt(subject, SUBJECT_ONE)
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")

    with pytest.raises(PiiTokenError, match="altered"):
        cipher.decrypt(subject, altered)
    with pytest.raises(PiiTokenError, match="damaged"):
        cipher.decrypt(subject, TOKEN_PREFIX + "abc")
    with pytest.raises(PiiTokenError, match="not a personal-data token"):
        cipher.decrypt(subject, "Test Subject One")


def test_reading_personal_data_of_a_subject_that_never_had_any_is_refused_clearly(key_database: KeyDatabase) -> None:
    subject = new_subject()

    with pytest.raises(NoSubjectKeyError, match=f"subject {subject} has no personal-data key"):
        PiiCipher(key_database.new_process()).decrypt(subject, TOKEN_PREFIX + "A" * 40)


def test_after_erasure_the_personal_data_is_unreadable_everywhere_and_no_new_data_is_accepted(
    key_database: KeyDatabase,
) -> None:
    cipher = PiiCipher(key_database.new_process())
    subject, bystander = new_subject(), new_subject()
    token = cipher.encrypt(subject, SUBJECT_ONE)
    bystander_token = cipher.encrypt(bystander, SUBJECT_TWO)
    assert cipher.decrypt(subject, token) == SUBJECT_ONE  # the key is now in the cipher's cache

    assert cipher.erase(subject) is True

    with pytest.raises(SubjectErasedError, match=f"subject {subject} was erased"):
        cipher.decrypt(subject, token)
    restarted = PiiCipher(key_database.new_process())
    with pytest.raises(SubjectErasedError, match=f"subject {subject} was erased"):
        restarted.decrypt(subject, token)
    key_id, wrapped_key, destroyed_at = key_database.read_row(subject) or ()
    assert key_id == key_database.master.key_id
    assert wrapped_key is None
    assert destroyed_at is not None
    with pytest.raises(SubjectErasedError):
        cipher.encrypt(subject, SUBJECT_ONE)
    with pytest.raises(SubjectErasedError):
        restarted.encrypt(subject, SUBJECT_ONE)
    assert restarted.decrypt(bystander, bystander_token) == SUBJECT_TWO, "other subjects are untouched"
    assert cipher.erase(subject) is False, "a second erasure finds no key to destroy"


def test_a_subject_erased_before_any_personal_data_was_recorded_stays_erased(key_database: KeyDatabase) -> None:
    store = key_database.new_process()
    subject = new_subject()

    assert store.destroy(subject) is False
    assert store.is_destroyed(subject)

    with pytest.raises(SubjectErasedError):
        PiiCipher(store).encrypt(subject, SUBJECT_ONE)
    with pytest.raises(SubjectErasedError):
        key_database.new_process().create(subject)


def test_an_erasure_made_by_another_ledger_instance_is_seen_once_the_cached_key_expires(
    key_database: KeyDatabase,
) -> None:
    reader = PiiCipher(key_database.new_process(), cache_seconds=0)
    subject = new_subject()
    token = reader.encrypt(subject, SUBJECT_ONE)

    PiiCipher(key_database.new_process()).erase(subject)

    assert key_database.new_process().is_destroyed(subject)
    with pytest.raises(SubjectErasedError):
        reader.decrypt(subject, token)


def test_the_stored_key_is_wrapped_and_a_wrong_master_key_cannot_open_it(key_database: KeyDatabase) -> None:
    store = key_database.new_process()
    subject = new_subject()
    key = store.create(subject)

    key_id, wrapped_key, destroyed_at = key_database.read_row(subject) or ()

    assert len(key) == 32
    assert key_id == key_database.master.key_id
    assert destroyed_at is None
    assert key not in bytes(wrapped_key)
    assert store.get(subject) == key
    assert key_database.new_process().get(subject) == key
    other_master = new_master_key()
    with pytest.raises(
        KeyUnwrapError, match=f"wrapped by master key {key_id}, but the configured master key is {other_master.key_id}"
    ):
        key_database.new_process(other_master).get(subject)


def test_two_ledger_instances_creating_a_key_for_the_same_subject_at_once_end_with_one_key(
    key_database: KeyDatabase,
) -> None:
    instances = [key_database.new_process(), key_database.new_process()]
    subjects = [new_subject() for _ in range(20)]
    created: dict[tuple[int, str], bytes] = {}

    def create_all(instance: int, start: threading.Barrier) -> None:
        for subject in subjects:
            start.wait()
            created[instance, subject] = instances[instance].create(subject)

    start = threading.Barrier(2, timeout=30)
    threads = [threading.Thread(target=create_all, args=(i, start)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(created) == 2 * len(subjects)
    for subject in subjects:
        assert created[0, subject] == created[1, subject]
        assert key_database.new_process().get(subject) == created[0, subject]


def test_the_master_key_must_be_32_bytes_of_base64() -> None:
    with pytest.raises(ValueError, match="must be 32 bytes"):
        MasterKey.from_base64(base64.b64encode(os.urandom(16)).decode())
    with pytest.raises(ValueError, match="not valid base64"):
        MasterKey.from_base64("not base64 at all!")


def test_a_wrapped_key_is_bound_to_its_subject_and_the_master_key_never_shows_in_its_repr() -> None:
    master = new_master_key()
    key = os.urandom(32)
    wrapped = master.wrap("subject-a", key)

    assert master.unwrap("subject-a", wrapped) == key
    with pytest.raises(KeyUnwrapError, match="does not open with master key"):
        master.unwrap("subject-b", wrapped)
    assert repr(master) == f"MasterKey(key_id={master.key_id!r})"


def test_sqlite_overwrites_destroyed_keys_in_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    store = SqliteKeyStore(str(path), new_master_key())
    subjects = [new_subject() for _ in range(200)]  # enough rows that erasures move cells between pages
    for subject in subjects:
        store.create(subject)
    with sqlite3.connect(path) as db:
        wrapped = dict(db.execute("SELECT subject_id, wrapped_key FROM subject_keys").fetchall())
    erased = subjects[::4]

    for subject in erased:
        store.destroy(subject)
    store.close()

    on_disk = path.read_bytes()
    assert [subject for subject in erased if wrapped[subject] in on_disk] == []
    assert all(wrapped[subject] in on_disk for subject in subjects if subject not in erased)
