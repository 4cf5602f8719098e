"""The subject's own personal data for their access report: decrypted with a fresh key, others' data left out.

Records holding personal data (a consent's pii, a clarification's new values, a request's identity
document) are shown as copies, field by field, minus what belongs to someone else (§5: the answer holds
no personal data of other subjects):
- a representative's personal data (pii["representative"] of a consent): not the subject's;
- the identity document of a request a representative filed: §5 has a request carry the document of the
  subject *or* of their legal representative, so then it is the representative's. The document on a
  request the subject filed themselves is the subject's own data and is shown.
Each record says what was left out (a code), never the values. Keys are read fresh from the key store,
never from the cipher's cache, so an erasure made by any ledger instance is honoured at once: an erased
subject's report decrypts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from schemas.envelope import utc_text
from services.ledger.adapters.pii.cipher import NoSubjectKeyError, PiiCipher, PiiTokenError, SubjectErasedError
from services.ledger.domain import events as e

log = logging.getLogger(__name__)

REPRESENTATIVE = "representative"  # where a representative's own personal data sits in a consent's pii
IDENTITY_DOCUMENT = "identity_document"  # where a request's identity document sits in its pii


def own_personal_data(
    cipher: PiiCipher, subject_id: UUID, events: list[e.SubjectEvent], *, erased: bool
) -> dict[str, Any]:
    """Copies of the records holding the subject's own personal data, decrypted with a freshly read key."""
    destroyed: dict[str, Any] = {"status": "destroyed", "records": []}
    subject = str(subject_id)
    if erased or cipher.is_erased(subject):
        return destroyed
    records: list[dict[str, Any]] = []
    for event in events:
        if event.pii is None:
            continue
        record: dict[str, Any] = {
            "source": _source(event),
            "at": utc_text(datetime.fromisoformat(event.occurred_at)),
            "event_id": str(event.event_id),
        }
        try:
            values = cipher.decrypt(subject, event.pii, fresh=True)
        except SubjectErasedError:
            return destroyed  # erased while this report was being built
        except (PiiTokenError, NoSubjectKeyError):
            log.warning("access report: event %s of subject %s does not decrypt", event.event_id, subject)
            records.append({**record, "status": "unreadable", "values": {}, "left_out": []})
            continue
        shown, left_out = own_fields(event, values)
        records.append({**record, "status": "readable", "values": shown, "left_out": left_out})
    return {"status": "available" if records else "none", "records": records}


def _source(event: e.SubjectEvent) -> str:
    if isinstance(event, e.SubjectRequestReceived):
        return "subject_request"
    if isinstance(event, e.PersonalDataRectified):
        return "rectification"
    return "consent_form"


def own_fields(event: e.SubjectEvent, values: Mapping[str, object]) -> tuple[dict[str, object], list[str]]:
    """The subject's own fields of a decrypted record, and codes of what was left out as someone else's."""
    foreign = {REPRESENTATIVE: "representative_data"}
    if isinstance(event, e.SubjectRequestReceived) and event.by_representative:
        foreign[IDENTITY_DOCUMENT] = "representative_identity_document"
    shown = {key: value for key, value in sorted(values.items()) if key not in foreign}
    return shown, sorted(foreign[key] for key in values if key in foreign)
