"""Per-subject keys for personal data, wrapped by the master key, kept in SQLite or PostgreSQL."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Select, select, update

from services.ledger.adapters.tables import migrate, subject_keys
from services.platform.sql import WAL, begin, engine_for, upsert

KEY_BYTES = 32
_NONCE_BYTES = 12
_WRAPPED_BYTES = _NONCE_BYTES + KEY_BYTES + 16  # nonce, key, GCM tag

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A new subject key as `subject_keys` holds it (wrapped), for the event store to write with the events under it."""

    subject_id: str
    key_id: str
    wrapped_key: bytes
    created_at: datetime


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

    def wrap_many(self, keys: Mapping[str, bytes]) -> list[KeyRow]:
        """The rows of these new keys, wrapped by the master key, in subject order: the event store writes them."""

    def get_many(self, subject_ids: Collection[str]) -> dict[str, bytes | None]:
        """The keys of those subjects that have a row, in one read; None: erased. A subject without one is left out."""

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


class SqlKeyStore:
    """Subject keys in the ledger's database (SQLite or PostgreSQL), its table made or upgraded on open.

    Destroying a key first inserts a tombstone in case the subject never had a key (erased stays
    erased), then empties the key, in one transaction. In this order a create racing the destroy
    either loses to the tombstone or commits before the UPDATE reads the row, and then its key is
    destroyed too.
    """

    def __init__(
        self,
        url: str,
        master: MasterKey,
        *,
        clock: Clock = _utc_now,
        max_connections: int = 4,
        pragmas: tuple[str, ...] = WAL,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self._master = master
        self._clock = clock
        self._engine = engine_for(url, max_connections=max_connections, pragmas=pragmas, busy_timeout_s=busy_timeout_s)
        try:
            migrate(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    def get(self, subject_id: str) -> bytes | None:
        """The subject's key, None if none was ever created; SubjectErasedError if it was destroyed."""
        with begin(self._engine) as connection:
            row = connection.execute(self._select(subject_id)).one_or_none()
        return None if row is None else _open(self._master, subject_id, row.key_id, row.wrapped_key)

    def create(self, subject_id: str) -> bytes:
        """Create the subject's key, or return the one that already exists; SubjectErasedError if erased."""
        key = AESGCM.generate_key(bit_length=256)
        row = {
            "subject_id": subject_id, "key_id": self._master.key_id,
            "wrapped_key": self._master.wrap(subject_id, key), "created_at": self._clock(),
        }  # fmt: skip
        with begin(self._engine) as connection:
            # A conflicting insert still in flight is waited for, so the SELECT sees the winner's row.
            if upsert(connection, subject_keys, [row]) == 1:
                return key
            stored = connection.execute(self._select(subject_id)).one_or_none()
        if stored is None:
            raise RuntimeError(f"the key row of subject {subject_id} vanished; rows of subject_keys are never deleted")
        return _open(self._master, subject_id, stored.key_id, stored.wrapped_key)

    def wrap_many(self, keys: Mapping[str, bytes]) -> list[KeyRow]:
        """The rows of these new keys, wrapped by the master key, in subject order: the event store writes them.

        They are written in the transaction of the events encrypted under them (adapters/recorders.py): a key
        never exists without them, nor they without it; a subject that got a key meanwhile voids the save.
        """
        now = self._clock()
        return [KeyRow(s, self._master.key_id, self._master.wrap(s, key), now) for s, key in sorted(keys.items())]

    def get_many(self, subject_ids: Collection[str]) -> dict[str, bytes | None]:
        """The keys of those subjects that have a row, in one read; None: erased. A subject without one is left out."""
        if not subject_ids:
            return {}
        with begin(self._engine) as connection:
            return self._read(connection, subject_ids)

    def _read(self, connection: Connection, subject_ids: Collection[str]) -> dict[str, bytes | None]:
        """The stored key of each of these subjects that has a row (None: erased), checked against the master key."""
        columns = subject_keys.c
        query = select(columns.subject_id, columns.key_id, columns.wrapped_key).where(
            columns.subject_id.in_(sorted(subject_ids))
        )
        held: dict[str, bytes | None] = {}
        for subject_id, key_id, wrapped in connection.execute(query):
            held[subject_id] = None if wrapped is None else _open(self._master, subject_id, key_id, wrapped)
        return held

    def destroy(self, subject_id: str) -> bool:
        """Erase the subject for good; True if a key was destroyed by this call."""
        now = self._clock()
        tombstone = {
            "subject_id": subject_id, "key_id": self._master.key_id, "wrapped_key": None,
            "created_at": now, "destroyed_at": now,
        }  # fmt: skip
        empty = (
            update(subject_keys)
            .where(subject_keys.c.subject_id == subject_id, subject_keys.c.wrapped_key.is_not(None))
            .values(wrapped_key=None, destroyed_at=now)
        )
        with begin(self._engine) as connection:
            upsert(connection, subject_keys, [tombstone])
            return connection.execute(empty).rowcount == 1

    def is_destroyed(self, subject_id: str) -> bool:
        """Whether the subject was erased."""
        query = select(subject_keys.c.destroyed_at.is_not(None)).where(subject_keys.c.subject_id == subject_id)
        with begin(self._engine) as connection:
            found = connection.execute(query).scalar_one_or_none()
        return bool(found)

    def close(self) -> None:
        """Close every connection."""
        self._engine.dispose()

    @staticmethod
    def _select(subject_id: str) -> Select[tuple[str, bytes | None]]:
        return select(subject_keys.c.key_id, subject_keys.c.wrapped_key).where(subject_keys.c.subject_id == subject_id)


class SqliteKeyStore(SqlKeyStore):
    """Subject keys in an SQLite file; one connection shared by this process's threads.

    Without secure_delete a destroyed wrapped key stays in the file's free space; with it SQLite
    overwrites deleted content with zeros. (Copies in the filesystem's free blocks, e.g. from the
    rollback journal, are beyond its reach: they stay wrapped by the master key.)
    """

    def __init__(self, path: str, master: MasterKey, *, clock: Clock = _utc_now) -> None:
        super().__init__(f"sqlite:///{path}", master, clock=clock, pragmas=("secure_delete=ON",))


class PostgresKeyStore(SqlKeyStore):
    """Subject keys in PostgreSQL (a URL or a libpq key=value string), shared by every ledger instance.

    Destroying a key sets its column to NULL, but the old row version (a dead tuple holding the
    wrapped key) stays in the table's pages until VACUUM reclaims it, and in WAL archives and base
    backups until they expire. VACUUM cannot run inside a transaction, so it is left to autovacuum
    or a scheduled `VACUUM subject_keys`. Those remnants are wrapped by the master key: keep the
    master key out of the database and its backups.
    """

    def __init__(self, conninfo: str, master: MasterKey, *, clock: Clock = _utc_now, max_connections: int = 4) -> None:
        super().__init__(conninfo, master, clock=clock, max_connections=max_connections)
