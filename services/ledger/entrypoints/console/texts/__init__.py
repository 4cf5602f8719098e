"""The console's words in Kazakh, Russian and English: one dict per language, the same keys in each.

Labels only; the policy's vocabulary (purposes, categories, channels, grounds, events) is the access
report's (services.ledger.reports.texts), so a person reads the same words on screen and on paper.
Texts may hold {name} placeholders, filled in by rendering.Words.
"""

from __future__ import annotations

from types import MappingProxyType

from services.ledger.entrypoints.console.texts.en import EN
from services.ledger.entrypoints.console.texts.kk import KK
from services.ledger.entrypoints.console.texts.ru import RU

TEXTS = MappingProxyType({"kk": KK, "ru": RU, "en": EN})
