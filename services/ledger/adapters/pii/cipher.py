"""Personal data inside ledger events, encrypted with its subject's key so erasure can shred it."""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.ledger.adapters.pii.keys import KeyRow, KeyStore, SubjectErasedError

__all__ = [
    "TOKEN_PREFIX", "KeyRow", "NewKeys", "NoSubjectKeyError", "PiiCipher", "PiiTokenError", "SubjectErasedError",
]  # fmt: skip

TOKEN_PREFIX = "pii.v1."  # noqa: S105 - a format marker, not a secret
_NONCE_BYTES = 12
_TAG_BYTES = 16


class NoSubjectKeyError(LookupError):
    """No personal data was ever encrypted for the subject, so it has no key to read any with."""

    def __init__(self, subject_id: str) -> None:
        super().__init__(
            f"subject {subject_id} has no personal-data key: no personal data was ever encrypted for this "
            "subject with this key store"
        )
        self.subject_id = subject_id


class PiiTokenError(ValueError):
    """A token is not the subject's personal data: malformed, altered, or made for another subject."""


class NewKeys(dict[str, bytes]):
    """Keys made for subjects while a batch is decided, written with the batch's events (`PiiCipher.wrapped`).

    Until then they are nowhere but here: tokens made under them must not be stored before the keys are.
    `absent`: the subjects `PiiCipher.prefetch` found without a key, so none is looked for again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.absent: set[str] = set()
        self.erasures_before = 0  # the cipher's erasures when they were wrapped: none since, or none is cached


class PiiCipher:
    """Encrypts and decrypts a subject's personal data; erasing the subject destroys its key.

    Keys are cached for `cache_seconds`. An erasure through this cipher takes effect here at once; one
    made by another process (another ledger instance) is seen here once the cached key expires, or at
    once by a `fresh` read, which goes to the key store (what an answer to the subject must use).
    """

    def __init__(self, keys: KeyStore, *, cache_size: int = 1024, cache_seconds: float = 60.0) -> None:
        self._keys = keys
        self._cache_size = cache_size
        self._cache_seconds = cache_seconds
        self._cache: OrderedDict[str, tuple[AESGCM, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._erasures = 0  # bumped by erase(), so a key read from the store before it is not cached

    def encrypt(self, subject_id: str, pii: Mapping[str, object], *, new_keys: NewKeys | None = None) -> str:
        """A text token of the personal data that only the subject's key opens, and only for that subject.

        With `new_keys` a subject without a key gets one there, not in the key store: the caller stores
        them all with what is encrypted under them (`wrapped`, then `remember_new_keys` once saved).
        """
        if new_keys is not None and subject_id in new_keys:
            aead = AESGCM(new_keys[subject_id])
        elif new_keys is not None and subject_id in new_keys.absent:
            new_keys[subject_id] = key = AESGCM.generate_key(bit_length=256)
            aead = AESGCM(key)
        else:
            aead = self._aead(subject_id, create=True, new_keys=new_keys)
        nonce = os.urandom(_NONCE_BYTES)
        plain = orjson.dumps(dict(pii), option=orjson.OPT_SORT_KEYS)
        sealed = aead.encrypt(nonce, plain, subject_id.encode())
        return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    def decrypt(self, subject_id: str, token: str, *, fresh: bool = False) -> dict[str, object]:
        """The personal data in a token made for this subject; SubjectErasedError once the subject is erased.

        With `fresh` the key is read from the key store, never from the cache, so an erasure made by
        another ledger instance a moment ago is honoured.
        """
        aead = self._aead(subject_id, create=False, fresh=fresh)
        sealed = _token_bytes(subject_id, token)
        try:
            plain = aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], subject_id.encode())
        except InvalidTag:
            raise PiiTokenError(
                f"the token does not decrypt for subject {subject_id}: it was made for another subject or altered"
            ) from None
        pii = orjson.loads(plain)
        if not isinstance(pii, dict):
            raise PiiTokenError(f"the token of subject {subject_id} holds no personal-data record")
        return pii

    def prefetch(self, subject_ids: Iterable[str], new_keys: NewKeys) -> None:
        """Read the keys of the subjects not cached in one go: cached now, or noted absent in `new_keys`.

        An erased subject is neither: encrypting for it asks the key store, which refuses it.
        """
        now = time.monotonic()
        with self._lock:
            wanted = {s for s in subject_ids if (cached := self._cache.get(s)) is None or cached[1] <= now}
            erasures = self._erasures
        found = self._keys.get_many(wanted)
        new_keys.absent |= wanted - set(found)
        self._remember({s: AESGCM(key) for s, key in found.items() if key is not None}, erasures, now)

    def wrapped(self, new_keys: NewKeys) -> list[KeyRow]:
        """The rows of the keys made in `new_keys`, for the event store to write with the events under them."""
        with self._lock:
            new_keys.erasures_before = self._erasures
        return self._keys.wrap_many(new_keys) if new_keys else []

    def remember_new_keys(self, new_keys: NewKeys) -> None:
        """Cache the keys made in `new_keys`, now that the event store holds them (unless an erasure came since)."""
        ciphers = {s: AESGCM(key) for s, key in new_keys.items()}
        self._remember(ciphers, new_keys.erasures_before, time.monotonic())

    def is_erased(self, subject_id: str) -> bool:
        """Whether the subject was erased, as the key store says now (the cache is not asked)."""
        return self._keys.is_destroyed(subject_id)

    def erase(self, subject_id: str) -> bool:
        """Destroy the subject's key for good; True if a key was destroyed by this call."""
        try:
            return self._keys.destroy(subject_id)
        finally:
            with self._lock:
                self._erasures += 1
                self._cache.pop(subject_id, None)

    def _aead(self, subject_id: str, *, create: bool, fresh: bool = False, new_keys: NewKeys | None = None) -> AESGCM:
        """The subject's cipher, from the cache (unless `fresh`) or the key store (creating the key if asked).

        A key created goes to the key store, or into `new_keys` when given (then it is not cached yet).
        """
        now = time.monotonic()
        with self._lock:
            cached = None if fresh else self._cache.get(subject_id)
            if cached is not None and cached[1] > now:
                self._cache.move_to_end(subject_id)
                return cached[0]
            erasures = self._erasures
        try:
            key = self._keys.get(subject_id)
        except SubjectErasedError:
            with self._lock:
                self._cache.pop(subject_id, None)  # erased elsewhere: stop serving the cached key here too
            raise
        if key is None:
            if not create:
                raise NoSubjectKeyError(subject_id)
            if new_keys is not None:
                new_keys[subject_id] = key = AESGCM.generate_key(bit_length=256)
                return AESGCM(key)
            key = self._keys.create(subject_id)
        aead = AESGCM(key)
        self._remember({subject_id: aead}, erasures, now)
        return aead

    def _remember(self, ciphers: Mapping[str, AESGCM], erasures: int, now: float) -> None:
        """Cache keys read at `now`, unless an erasure came since (`erasures` is the count when they were read)."""
        with self._lock:
            if erasures != self._erasures:
                return
            for subject_id, aead in ciphers.items():
                self._cache[subject_id] = (aead, now + self._cache_seconds)
                self._cache.move_to_end(subject_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


def _token_bytes(subject_id: str, token: str) -> bytes:
    """Nonce and ciphertext of a token, or PiiTokenError if the text is no token of this format."""
    if not token.startswith(TOKEN_PREFIX):
        raise PiiTokenError(f"the value given for subject {subject_id} is not a personal-data token ({TOKEN_PREFIX}…)")
    body = token.removeprefix(TOKEN_PREFIX)
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:  # binascii.Error: not base64
        sealed = b""
    if len(sealed) < _NONCE_BYTES + _TAG_BYTES:
        raise PiiTokenError(f"the personal-data token given for subject {subject_id} is damaged")
    return sealed
