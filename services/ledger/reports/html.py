"""The access report as a readable document (HTML) in Kazakh, Russian or English, from its JSON form.

Every label and every code of the policy's vocabulary is looked up in report_texts; a closed vocabulary
without a text fails loudly rather than show a code to the subject. Times are shown in Almaty time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from services.ledger.domain.calendar import KAZAKHSTAN
from services.ledger.reports.texts import LANGUAGES, OPEN_VOCABULARIES, TEXTS

TEMPLATE = "access_report.html.j2"

_templates = Environment(
    loader=PackageLoader("services.ledger.reports", "templates"),
    autoescape=True,  # values come from the ledger and from what a channel typed: always escaped
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


class UnknownLanguageError(ValueError):
    """The report is written in Kazakh, Russian and English only."""

    def __init__(self, lang: str) -> None:
        super().__init__(f"no texts for language {lang!r}; choose one of {', '.join(LANGUAGES)}")


def render_access_report(report: Mapping[str, Any], lang: str) -> str:
    """The HTML document of an access report (as build_access_report made it) in `lang`: kk, ru or en."""
    if lang not in TEXTS:
        raise UnknownLanguageError(lang)
    texts = TEXTS[lang]

    def text(key: str) -> str:
        return texts[key]

    def term(kind: str, code: str) -> str:
        key = f"{kind}.{code}"
        return texts.get(key, code) if kind in OPEN_VOCABULARIES else texts[key]

    def terms(kind: str, codes: Iterable[str]) -> str:
        return "; ".join(term(kind, code) for code in codes) or texts["none"]

    return _templates.get_template(TEMPLATE).render(
        report=report, lang=lang, t=text, term=term, terms=terms, moment=almaty_time
    )


def almaty_time(moment: str) -> str:
    """A canonical UTC time as the date and time in Almaty, e.g. 2026-05-04 10:00."""
    return datetime.fromisoformat(moment).astimezone(KAZAKHSTAN).strftime("%Y-%m-%d %H:%M")
