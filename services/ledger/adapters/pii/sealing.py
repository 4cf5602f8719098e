"""The ledger's sealing key: it opens the personal data channels seal for it (schemas.sealed, decision 0009).

The command handler opens every sealed field of a command before any rule sees it, and validates
what it opened exactly as the same data sent in clear: a sealed `pii` that is not a JSON object of
strings, or holds an invalid IIN, is refused as the clear one would be. What cannot be opened (sealed
to another key, damaged, not a sealed box) or was sealed for another subject or field is refused with
a rule of its own. No message repeats what was sealed.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import orjson
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from pydantic import BaseModel, ValidationError

from schemas.sealed import PersonalField, SealedContent, key_bytes, personal_fields, sealed_box
from services.ledger.domain.errors import InvalidCommandError

UNREADABLE = "sealed_data_unreadable"
MISMATCH = "sealed_data_mismatch"
MALFORMED = "malformed"

M = TypeVar("M", bound=BaseModel)


class SealedDataError(InvalidCommandError):
    """Sealed personal data the ledger refuses; `rule` says why (unreadable, mismatch, malformed)."""

    def __init__(self, rule: str, field: str, message: str) -> None:
        super().__init__(field, f"{rule}: {message}")
        self.rule = rule


@dataclass(frozen=True)
class SealingKey:
    """The ledger's X25519 private key (CONSENT_LEDGER_SEALING_KEY); its public half is published."""

    private: PrivateKey

    @classmethod
    def from_base64(cls, text: str) -> SealingKey:
        """The key from 32 random bytes in base64; ValueError naming the setting."""
        problem = "CONSENT_LEDGER_SEALING_KEY must be 32 random bytes in base64 (an X25519 private key)"
        return cls(PrivateKey(key_bytes(text, problem)))

    @classmethod
    def generate(cls) -> SealingKey:
        """A fresh key (development stacks and tests)."""
        return cls(PrivateKey.generate())

    def private_base64(self) -> str:
        """The key in the form CONSENT_LEDGER_SEALING_KEY takes."""
        return base64.b64encode(bytes(self.private)).decode()

    def public_base64(self) -> str:
        """The public key channels seal to, base64 (32 bytes); public by design."""
        return base64.b64encode(bytes(self.private.public_key)).decode()

    def open(self, token: str, subject_id: UUID, field: PersonalField) -> Any:
        """The value sealed in `token` for `subject_id`'s `field`; SealedDataError if it is not that."""
        try:
            plain = SealedBox(self.private).decrypt(sealed_box(token))
            content = SealedContent.model_validate_json(plain)
        except (ValueError, CryptoError):  # ValidationError is a ValueError
            raise SealedDataError(
                UNREADABLE,
                field.sealed_path,
                "the ledger's sealing key does not open it: sealed to another key, or damaged",
            ) from None
        if content.subject_id != subject_id or content.field != field.path:
            raise SealedDataError(MISMATCH, field.sealed_path, "it was sealed for another subject or another field")
        return content.value


def opened(command: M, subject_id: UUID, key: SealingKey | None) -> M:
    """`command` with every sealed field opened into its clear twin, validated as if it had been sent in clear."""
    sealed = [field for field in personal_fields(command) if field.sealed is not None]
    if not sealed:
        return command
    document = command.model_dump(mode="json", exclude_unset=True)
    for field in sealed:
        if key is None:
            raise SealedDataError(UNREADABLE, field.sealed_path, "this ledger has no sealing key to open it")
        holder = document
        for step in field.path.split(".")[:-1]:
            holder = holder[step]
        del holder[f"sealed_{field.name}"]
        holder[field.name] = key.open(str(field.sealed), subject_id, field)
    try:
        return type(command).model_validate_json(orjson.dumps(document))
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        raise SealedDataError(MALFORMED, where(first["loc"]), problems(error)) from None


def where(loc: Sequence[int | str]) -> str:
    """A field's path in a validation error, stopping at a personal-data mapping (its keys are the sender's)."""
    path: list[str] = []
    for step in loc:
        path.append(str(step))
        if step == "pii":
            break
    return ".".join(path)


def problems(error: ValidationError) -> str:
    """Every field that does not validate and why, never with the input it was given."""
    return "; ".join(f"{where(e['loc'])}: {e['msg']}" for e in error.errors(include_input=False))
