"""The texts of consent forms, kept by the SHA-256 that ConsentGranted events reference (notice.text_sha256).

A form text is no personal data: it is the notice every subject who signed that form version saw.
Evidence bundles carry the texts their consents reference, so a regulator can read what was agreed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.platform.database import Database

_SCHEMA = """CREATE TABLE IF NOT EXISTS consent_forms (
    text_sha256 TEXT PRIMARY KEY, form_id TEXT NOT NULL, form_version TEXT NOT NULL, language TEXT NOT NULL,
    text TEXT NOT NULL, registered_at TEXT NOT NULL)"""
_INSERT = (
    "INSERT INTO consent_forms (text_sha256, form_id, form_version, language, text, registered_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (text_sha256) DO NOTHING"
)
_SELECT = "SELECT text FROM consent_forms WHERE text_sha256 = %s"


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
    """Consent form texts beside the event store at `url` (same database, own table)."""

    def __init__(self, url: str) -> None:
        self._db = Database(url)
        self._db.execute(_SCHEMA)

    def register(self, form: Form, now: datetime) -> str:
        """Keep the form's text (once per text) and return its SHA-256."""
        digest = form.text_sha256
        self._db.execute(_INSERT, (digest, form.form_id, form.form_version, form.language, form.text, now.isoformat()))
        return digest

    def text(self, text_sha256: str) -> str | None:
        """The form text with this SHA-256, or None if it was never registered."""
        rows = self._db.execute(_SELECT, (text_sha256,))
        return str(rows[0][0]) if rows else None

    def texts(self, digests: Iterable[str]) -> dict[str, str]:
        """The registered texts among these SHA-256s."""
        found = {digest: self.text(digest) for digest in sorted(set(digests))}
        return {digest: text for digest, text in found.items() if text is not None}

    def close(self) -> None:
        """Close the connections."""
        self._db.close()
