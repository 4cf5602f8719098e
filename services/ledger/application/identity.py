"""Opaque ids for people known to a channel only by IIN, phone or card number: keyed HMAC, never a plain hash.

A plain hash of an IIN or phone number is reversed by enumerating the few billion candidates;
an HMAC with a secret from configuration is not. Nothing derived here identifies a person on Kafka.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from enum import StrEnum
from uuid import UUID

from services.ledger.domain.digits import ASCII_DIGITS, ascii_digits
from services.ledger.domain.iin import parse_iin


class Identifier(StrEnum):
    """What a channel knows a person by."""

    IIN = "iin"
    PHONE = "phone"
    CARD = "card"


def normalise(kind: Identifier, value: str) -> str:
    """One spelling per identifier, in ASCII digits: a validated IIN, a phone's digits, a card number's digits.

    Every value is read through `domain.digits.ascii_digits` first: NFKC, invisible marks dropped,
    digits of any script (full-width, Arabic-Indic, Persian, Devanagari, ...) as their ASCII digits,
    so a person typed in another script is the same person. An IIN is then twelve digits with a
    valid check digit (`parse_iin`). A phone or card number may also hold spaces, dashes, dots and
    brackets, which are dropped, and a phone number one leading +; the domestic 8 prefix of an
    11-digit phone is +7. Anything else is refused with ValueError, whose message never repeats the value.
    """
    if kind is Identifier.IIN:
        return parse_iin(value).value
    text = ascii_digits(value).strip()
    if kind is Identifier.PHONE:
        text = text.removeprefix("+")
    digits = "".join(character for character in text if not _is_separator(character))
    if not digits or not ASCII_DIGITS.issuperset(digits):
        plus = " and a leading +" if kind is Identifier.PHONE else ""
        raise ValueError(f"a {kind.value} number holds digits, spaces, dashes, dots and brackets only{plus}")
    if kind is Identifier.PHONE and len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]  # the domestic 8 prefix is +7
    return digits


def _is_separator(character: str) -> bool:
    """A space, dash, dot or bracket between a number's digits."""
    return character.isspace() or character in ".()" or unicodedata.category(character) == "Pd"


class SubjectIds:
    """Derives subject ids and card references with a keyed HMAC (secret from configuration)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the identity secret must be at least 32 bytes")
        self._secret = secret

    def _mac(self, kind: Identifier, value: str) -> bytes:
        message = f"{kind.value}:{normalise(kind, value)}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def subject_id(self, kind: Identifier, value: str) -> UUID:
        """The subject id for a person known by `kind` = `value` (random-looking: UUID version bits 4)."""
        return UUID(bytes=self._mac(kind, value)[:16], version=4)

    def card_ref(self, card_number: str) -> str:
        """The opaque reference recorded for a loyalty card instead of its number."""
        return "card-" + self._mac(Identifier.CARD, card_number)[:16].hex()
