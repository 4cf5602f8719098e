"""The access report's words in Kazakh, Russian and English: one dict per language, the same keys in each.

Keys are labels ("section.recipients") and the policy's vocabulary as `<kind>.<code>` ("purpose.loyalty",
"erasure_ground.consent_withdrawn"). Closed vocabularies (the ledger's enums) must be complete in every
language; open ones (countries, personal-data field names, who requested an erasure) fall back to the code.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from services.ledger.reports.texts.en import EN
from services.ledger.reports.texts.kk import KK
from services.ledger.reports.texts.ru import RU

ReportLanguage = Literal["kk", "ru", "en"]
LANGUAGES: tuple[ReportLanguage, ...] = ("kk", "ru", "en")
TEXTS = MappingProxyType({"kk": KK, "ru": RU, "en": EN})
# Vocabularies whose values may be outside the lists above: shown as the code itself when untranslated.
OPEN_VOCABULARIES = frozenset({"country", "field", "requested_by"})
