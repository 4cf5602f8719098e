"""Numbers as people type them: the decimal digits of any script, read as ASCII 0-9.

A keyboard set to Arabic, Persian, Hindi or full-width input writes the same IIN, phone or card
number with other code points. Python's `\\d`, `\\D` and `str.isdigit()` take all of them for
digits, so a number compared or hashed as typed would make one person several. Every number a
person is known by is read through `ascii_digits` first.
"""

from __future__ import annotations

import unicodedata

ASCII_DIGITS = frozenset("0123456789")


def ascii_digits(text: str) -> str:
    """`text` in NFKC, invisible marks dropped, every decimal digit of any script made its ASCII digit.

    NFKC turns full-width and other compatibility forms into their plain ones (full-width digits,
    plus and brackets, no-break spaces). Digits it leaves alone (Unicode category Nd), such as the
    Arabic-Indic seven U+0667 or the Devanagari seven U+096D, become the ASCII digit of the same
    value. Invisible formatting marks (category Cf, such as the direction marks around a number
    copied from Arabic text) are dropped. Everything else is left for the caller to accept or refuse.
    """
    return "".join(_ascii(character) for character in unicodedata.normalize("NFKC", text))


def _ascii(character: str) -> str:
    if unicodedata.category(character) == "Cf":
        return ""
    value = unicodedata.decimal(character, None)
    return character if value is None else str(value)
