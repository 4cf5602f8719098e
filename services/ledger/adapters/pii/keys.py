"""Per-subject keys for personal data, wrapped by the master key, kept in SQLite or PostgreSQL."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.platform.database import postgres_pool

KEY_BYTES = 32
_NONCE_BYTES = 12
_WRAPPED_BYTES = _NONCE_BYTES + KEY_BYTES + 16  # nonce, key, GCM tag

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SubjectErasedError(Exception):
    """The subject's personal data was erased: its key is destroyed and never comes back."""

    def __init__(self, subject_id: str) -> None:
        super().__init__(
            f"personal data of subject {subject_id} was erased: its key was destroyed, so that data "
            "can no longer be read and no new personal data is accepted for this subject"
        )
        self.subject_id = subject_id


class KeyUnwrapError(ValueError):
    """A stored subject key does not open with the configured master key."""


class MasterKey:
    """The 32-byte key from configuration that wraps (encrypts) every subject key."""

    __slots__ = ("_aead", "key_id")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes (AES-256), got {len(raw)} bytes")
        self._aead = AESGCM(raw)
        # Stored beside each wrapped key, so a rotation can tell which master key wrapped it.
        self.key_id = hashlib.sha256(raw).hexdigest()[:8]

    @classmethod
    def from_base64(cls, text: str) -> MasterKey:
        """Read the master key from its base64 text in configuration."""
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except binascii.Error as error:
            raise ValueError(
                f"the master key is not valid base64 ({error}); expected {KEY_BYTES} random bytes "
                "encoded as base64, e.g. the output of `openssl rand -base64 32`"
            ) from None
        return cls(raw)

    def wrap(self, subject_id: str, key: bytes) -> bytes:
        """Encrypt a subject key, bound to that subject: nonce followed by ciphertext."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key, subject_id.encode())

    def unwrap(self, subject_id: str, blob: bytes) -> bytes:
        """Open a wrapped key; KeyUnwrapError unless it is this subject's key wrapped by this master key."""
        try:
            if len(blob) != _WRAPPED_BYTES:
                raise InvalidTag
            return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], subject_id.encode())
        except InvalidTag:
            raise KeyUnwrapError(
                f"the stored key of subject {subject_id} does not open with master key {self.key_id}: "
                "the master key is wrong, or the key row was altered or copied from another subject"
            ) from None

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"


class KeyStore(Protocol):
    """Where subject keys live; erasure destroys a key for good."""

    def get(self, subject_id: str) -> bytes | None:
        """The subject's key, None if none was ever created; SubjectErasedError if it was destroyed."""

    def create(self, subject_id: str) -> bytes:
        """Create the subject's key, or return the one that already exists; SubjectErasedError if erased."""

    def destroy(self, subject_id: str) -> bool:
        """Erase the subject for good; True if a key was destroyed by this call."""

    def is_destroyed(self, subject_id: str) -> bool:
        """Whether the subject was erased."""


def _open(master: MasterKey, subject_id: str, key_id: str, wrapped: bytes | None) -> bytes:
    """The key in a stored row, refusing an erased subject and a key wrapped by another master key."""
    if wrapped is None:
        raise SubjectErasedError(subject_id)
    if key_id != master.key_id:
        raise KeyUnwrapError(
            f"the stored key of subject {subject_id} is wrapped by master key {key_id}, "
            f"but the configured master key is {master.key_id}"
        )
    return master.unwrap(subject_id, wrapped)


# Written for PostgreSQL; SqliteKeyStore runs the same text in SQLite's dialect (see _sqlite).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    wrapped_key BYTEA,
    created_at TIMESTAMPTZ NOT NULL,
    destroyed_at TIMESTAMPTZ,
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
)
"""
_SELECT = "SELECT key_id, wrapped_key FROM subject_keys WHERE subject_id = %s"
_INSERT = (
    "INSERT INTO subject_keys (subject_id, key_id, wrapped_key, created_at) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (subject_id) DO NOTHING"
)
# Destroying first inserts a tombstone in case the subject never had a key (erased stays erased),
# then empties the key. In this order a create racing the destroy either loses to the tombstone or
# commits before the UPDATE reads the row, and then its key is destroyed too.
_TOMBSTONE = (
    "INSERT INTO subject_keys (subject_id, key_id, wrapped_key, created_at, destroyed_at)"
    " VALUES (%s, %s, NULL, %s, %s) ON CONFLICT (subject_id) DO NOTHING"
)
_DESTROY = (
    "UPDATE subject_keys SET wrapped_key = NULL, destroyed_at = %s WHERE subject_id = %s AND wrapped_key IS NOT NULL"
)
_IS_DESTROYED = "SELECT destroyed_at IS NOT NULL FROM subject_keys WHERE subject_id = %s"


def _sqlite(query: str) -> str:
    """A statement above in SQLite's dialect: its placeholder, BLOB for bytes, ISO 8601 text for times."""
    return query.replace("%s", "?").replace("BYTEA", "BLOB").replace("TIMESTAMPTZ", "TEXT")


class SqliteKeyStore:
    """Subject keys in an SQLite file; one connection shared by this process's threads."""

    _select = _sqlite(_SELECT)
    _insert = _sqlite(_INSERT)
    _tombstone = _sqlite(_TOMBSTONE)
    _destroy = _sqlite(_DESTROY)
    _is_destroyed = _sqlite(_IS_DESTROYED)

    def __init__(self, path: str, master: MasterKey, *, clock: Clock = _utc_now) -> None:
        self._master = master
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        # Without secure_delete a destroyed wrapped key stays in the file's free space; with it SQLite
        # overwrites deleted content with zeros. (Copies in the filesystem's free blocks, e.g. from the
        # rollback journal, are beyond its reach: they stay wrapped by the master key.)
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute(_sqlite(_SCHEMA))

    def get(self, subject_id: str) -> bytes | None:
        """The subject's key, None if none was ever created; SubjectErasedError if it was destroyed."""
        with self._lock:
            row = self._db.execute(self._select, (subject_id,)).fetchone()
        return None if row is None else _open(self._master, subject_id, row[0], row[1])

    def create(self, subject_id: str) -> bytes:
        """Create the subject's key, or return the one that already exists; SubjectErasedError if erased."""
        key = AESGCM.generate_key(bit_length=256)
        row = (subject_id, self._master.key_id, self._master.wrap(subject_id, key), self._clock().isoformat())
        with self._lock:
            if self._db.execute(self._insert, row).rowcount == 1:
                return key
            key_id, wrapped = self._db.execute(self._select, (subject_id,)).fetchone()
        return _open(self._master, subject_id, key_id, wrapped)

    def destroy(self, subject_id: str) -> bool:
        """Erase the subject for good; True if a key was destroyed by this call."""
        now = self._clock().isoformat()
        with self._lock:
            self._db.execute(self._tombstone, (subject_id, self._master.key_id, now, now))
            return self._db.execute(self._destroy, (now, subject_id)).rowcount == 1

    def is_destroyed(self, subject_id: str) -> bool:
        """Whether the subject was erased."""
        with self._lock:
            row = self._db.execute(self._is_destroyed, (subject_id,)).fetchone()
        return row is not None and bool(row[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


class PostgresKeyStore:
    """Subject keys in PostgreSQL, shared by every ledger instance.

    Destroying a key sets its column to NULL, but the old row version (a dead tuple holding the
    wrapped key) stays in the table's pages until VACUUM reclaims it, and in WAL archives and base
    backups until they expire. VACUUM cannot run inside a transaction, so it is left to autovacuum
    or a scheduled `VACUUM subject_keys`. Those remnants are wrapped by the master key: keep the
    master key out of the database and its backups.
    """

    # Serialises CREATE TABLE IF NOT EXISTS between instances starting at once ("subjkeys" in ASCII).
    _SCHEMA_LOCK = 0x7375626A6B657973

    def __init__(self, conninfo: str, master: MasterKey, *, clock: Clock = _utc_now, max_connections: int = 4) -> None:
        self._master = master
        self._clock = clock
        self._pool = postgres_pool(conninfo, max_size=max_connections)
        try:
            with self._pool.connection() as db, db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (self._SCHEMA_LOCK,))
                db.execute(_SCHEMA)
        except BaseException:
            self._pool.close()
            raise

    def get(self, subject_id: str) -> bytes | None:
        """The subject's key, None if none was ever created; SubjectErasedError if it was destroyed."""
        with self._pool.connection() as db:
            row = db.execute(_SELECT, (subject_id,)).fetchone()
        return None if row is None else _open(self._master, subject_id, row[0], row[1])

    def create(self, subject_id: str) -> bytes:
        """Create the subject's key, or return the one that already exists; SubjectErasedError if erased."""
        key = AESGCM.generate_key(bit_length=256)
        row = (subject_id, self._master.key_id, self._master.wrap(subject_id, key), self._clock())
        with self._pool.connection() as db:
            # A conflicting insert still in flight is waited for, so the SELECT sees the winner's row.
            if db.execute(_INSERT, row).rowcount == 1:
                return key
            stored = db.execute(_SELECT, (subject_id,)).fetchone()
        if stored is None:
            raise RuntimeError(f"the key row of subject {subject_id} vanished; rows of subject_keys are never deleted")
        return _open(self._master, subject_id, stored[0], stored[1])

    def destroy(self, subject_id: str) -> bool:
        """Erase the subject for good; True if a key was destroyed by this call."""
        now = self._clock()
        with self._pool.connection() as db:
            db.execute(_TOMBSTONE, (subject_id, self._master.key_id, now, now))
            return db.execute(_DESTROY, (now, subject_id)).rowcount == 1

    def is_destroyed(self, subject_id: str) -> bool:
        """Whether the subject was erased."""
        with self._pool.connection() as db:
            row = db.execute(_IS_DESTROYED, (subject_id,)).fetchone()
        return row is not None and bool(row[0])

    def close(self) -> None:
        """Close every connection of the pool."""
        self._pool.close()
