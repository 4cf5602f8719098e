"""The texts of consent forms, kept by the SHA-256 that ConsentGranted events reference (notice.text_sha256).

A form text is no personal data: it is the notice every subject who signed that form version saw.
Evidence bundles carry the texts their consents reference, so a regulator can read what was agreed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from services.ledger.adapters.tables import consent_forms, migrate
from services.platform.sql import begin, engine_for, upsert


@dataclass(frozen=True)
class Form:
    """One version of a consent form in one language, as shown to subjects."""

    form_id: str
    form_version: str
    language: str
    text: str

    @property
    def text_sha256(self) -> str:
        """SHA-256 (hex) of the text's UTF-8 bytes: what consents reference."""
        return hashlib.sha256(self.text.encode()).hexdigest()


class FormTexts:
    """Consent form texts beside the event store at `url` (same database, own table, made or upgraded on open)."""

    def __init__(self, url: str) -> None:
        self._engine = engine_for(url)
        try:
            migrate(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    def register(self, form: Form, now: datetime) -> str:
        """Keep the form's text (once per text) and return its SHA-256."""
        digest = form.text_sha256
        row = {
            "text_sha256": digest, "form_id": form.form_id, "form_version": form.form_version,
            "language": form.language, "text": form.text, "registered_at": now.isoformat(),
        }  # fmt: skip
        with begin(self._engine) as connection:
            upsert(connection, consent_forms, [row])
        return digest

    def text(self, text_sha256: str) -> str | None:
        """The form text with this SHA-256, or None if it was never registered."""
        query = select(consent_forms.c.text).where(consent_forms.c.text_sha256 == text_sha256)
        with begin(self._engine) as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else str(found)

    def texts(self, digests: Iterable[str]) -> dict[str, str]:
        """The registered texts among these SHA-256s."""
        found = {digest: self.text(digest) for digest in sorted(set(digests))}
        return {digest: text for digest, text in found.items() if text is not None}

    def close(self) -> None:
        """Close the connections."""
        self._engine.dispose()
