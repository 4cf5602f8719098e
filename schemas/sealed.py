"""Personal data in commands on Kafka: sealed to the ledger's public key, never in clear (decision 0009).

Each personal field of a command (`pii`, `representative.pii`, `card_number`) has a twin
`sealed_<name>`. A channel seals the value into it: an X25519 sealed box (libsodium's
crypto_box_seal, through PyNaCl) of the canonical JSON {"subject_id", "field", "value"}, written as
`sealed.v1.<base64url>`. Only the ledger's private key opens it. The subject and the field named
inside the box stop a sealed value from being copied into another subject's command, where that
subject's access report would show it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any, NamedTuple
from uuid import UUID

from nacl.public import PublicKey, SealedBox
from pydantic import BaseModel, ConfigDict

from schemas.envelope import canonical_bytes

SEALED_PREFIX = "sealed.v1."
SEALED_PATTERN = r"^sealed\.v1\.[A-Za-z0-9_-]{64,}$"  # a sealed box is at least 48 bytes: 64 base64 characters
SEALED_MAX = 400_000  # characters: room for the largest `pii` taken in clear; what is opened is checked as clear
KEY_BYTES = 32


class SealedContent(BaseModel):
    """What a sealed box holds: a personal value, the subject it belongs to and the field it goes in."""

    model_config = ConfigDict(extra="forbid")

    subject_id: UUID
    field: str
    value: Any


def key_bytes(text: str | bytes, problem: str) -> bytes:
    """The 32 bytes of an X25519 key given in base64; ValueError(`problem`) if it is not that."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ValueError(problem)
    return raw


def public_key_bytes(public_key: str | bytes) -> bytes:
    """The raw X25519 public key: from its base64 text (GET /v1/commands/public-key) or its 32 bytes."""
    if isinstance(public_key, bytes) and len(public_key) == KEY_BYTES:
        return public_key
    return key_bytes(public_key, "the ledger's public key is 32 bytes in base64 (GET /v1/commands/public-key)")


def seal(public_key: str | bytes, subject_id: UUID | str, field: str, value: object) -> str:
    """`value` sealed for the ledger, to go in `sealed_<field>` of a command about `subject_id`."""
    content = canonical_bytes({"subject_id": str(UUID(str(subject_id))), "field": field, "value": value})
    box = SealedBox(PublicKey(public_key_bytes(public_key))).encrypt(content)
    return SEALED_PREFIX + base64.urlsafe_b64encode(box).rstrip(b"=").decode()


def sealed_box(token: str) -> bytes:
    """The sealed box inside a `sealed.v1.` text; ValueError if it is not one."""
    if not token.startswith(SEALED_PREFIX):
        raise ValueError(f"a sealed value starts with {SEALED_PREFIX}")
    body = token.removeprefix(SEALED_PREFIX)
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("a sealed value is base64url after its prefix") from None


class PersonalField(NamedTuple):
    """A personal-data field of a command (or of a model inside it), and its path from the command."""

    path: str
    owner: BaseModel
    name: str

    @property
    def sealed_path(self) -> str:
        """The path of the sealed twin (`representative.sealed_pii` for `representative.pii`)."""
        return self.path.removesuffix(self.name) + f"sealed_{self.name}"

    @property
    def clear(self) -> Any:
        """The value in clear, or None."""
        return getattr(self.owner, self.name)

    @property
    def sealed(self) -> str | None:
        """The sealed value, or None."""
        sealed: str | None = getattr(self.owner, f"sealed_{self.name}")
        return sealed


def personal_fields(model: BaseModel, prefix: str = "") -> Iterator[PersonalField]:
    """Every personal-data field of `model` and of the models inside it (each declares its PERSONAL_DATA)."""
    for name in getattr(type(model), "PERSONAL_DATA", ()):  # on the class: pydantic's __getattr__ is slow to miss
        yield PersonalField(f"{prefix}{name}", model, name)
    for name, value in model.__dict__.items():  # the field values, as pydantic keeps them
        if isinstance(value, BaseModel):
            yield from personal_fields(value, f"{prefix}{name}.")


def in_clear(model: BaseModel) -> list[str]:
    """Paths of the personal-data fields that `model` carries in clear (none may, on Kafka)."""
    return [field.path for field in personal_fields(model) if field.clear is not None]
