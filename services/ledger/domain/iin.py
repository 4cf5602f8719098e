"""The Kazakh individual identification number (IIN): twelve digits that identify a data subject."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from services.ledger.domain.digits import ASCII_DIGITS, ascii_digits

Sex = Literal["male", "female"]

_LENGTH = 12
_FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# Digit 7: century of birth and sex. 0, said by some to mark foreigners, is refused: no official source defines it.
_CENTURY_AND_SEX: dict[str, tuple[int, Sex]] = {
    "1": (1800, "male"),
    "2": (1800, "female"),
    "3": (1900, "male"),
    "4": (1900, "female"),
    "5": (2000, "male"),
    "6": (2000, "female"),
}


class InvalidIinError(ValueError):
    """The text is not a valid IIN; the message names the part that is wrong, never the number itself."""


@dataclass(frozen=True, repr=False)
class Iin:
    """A valid IIN with the birth date and sex it encodes; shown masked so it never leaks into logs."""

    value: str
    birth_date: date = field(init=False)
    sex: Sex = field(init=False)

    def __post_init__(self) -> None:
        birth_date, sex = _decode(self.value)
        object.__setattr__(self, "birth_date", birth_date)
        object.__setattr__(self, "sex", sex)

    @property
    def masked(self) -> str:
        """The number with all but its last four digits hidden."""
        return "*" * (_LENGTH - 4) + self.value[-4:]

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Iin({self.masked!r})"


def parse_iin(text: str) -> Iin:
    """The IIN written in `text`, or InvalidIinError saying what is wrong.

    Digits of any script count as their ASCII digits (full-width, Arabic-Indic, Devanagari, ...: see
    `digits.ascii_digits`), so one number has one spelling; surrounding whitespace is ignored; any
    other character is refused.
    """
    return Iin(ascii_digits(text).strip())


def is_valid_iin(text: str) -> bool:
    """Whether `text` is a valid IIN."""
    try:
        parse_iin(text)
    except InvalidIinError:
        return False
    return True


def _check_digit(first_eleven: str) -> int | None:
    """The check digit for the first eleven digits of an IIN, or None when both weight sets give 10."""
    digits = [int(character) for character in first_eleven]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        remainder = sum(digit * weight for digit, weight in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def _decode(value: str) -> tuple[date, Sex]:
    """The birth date and sex encoded in `value`, after checking every rule of the IIN."""
    if not ASCII_DIGITS.issuperset(value):
        raise InvalidIinError("an IIN consists of digits 0-9 only")
    if len(value) != _LENGTH:
        raise InvalidIinError(f"an IIN has exactly {_LENGTH} digits, this one has {len(value)}")
    if value[6] not in _CENTURY_AND_SEX:
        raise InvalidIinError("digit 7 (century of birth and sex) must be 1 to 6")
    century, sex = _CENTURY_AND_SEX[value[6]]
    try:
        birth_date = date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise InvalidIinError("digits 1-6 (birth date YYMMDD) are not a real calendar date") from None
    expected = _check_digit(value[:11])
    if expected is None:
        raise InvalidIinError("digits 1-11 admit no check digit (both weight sets give 10), so no IIN has them")
    if int(value[11]) != expected:
        raise InvalidIinError("digit 12 (check digit) does not match digits 1-11")
    return birth_date, sex
