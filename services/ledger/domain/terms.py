"""What a consent covers and how it was collected: the content of a ConsentGranted, validated.

Fields follow an ISO/IEC TS 27560 consent record in our own names: controller, notice, purposes,
categories, recipients and cross-border countries, term, jurisdiction and law, collection method
and proof, collector, representative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.ledger.domain.errors import InvalidCommandError
from services.ledger.domain.vocabulary import Channel, CollectionMethod, DataCategory, Language, Purpose

LAW = "Law of the Republic of Kazakhstan of 21 May 2013 No. 94-V On personal data and their protection"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

# Which proof each collection method must carry (policy §4, "How consent is collected").
PROOF_FIELD = {
    CollectionMethod.TABLET_SMS: "sms_verification_id",
    CollectionMethod.WEB_CHECKBOX: "checkbox_form_version",
    CollectionMethod.APP_CHECKBOX: "checkbox_form_version",
    CollectionMethod.ELECTRONIC_QUESTIONNAIRE: "document_reference",
    CollectionMethod.SIGNED_QUESTIONNAIRE: "signed_scan_sha256",
    CollectionMethod.RECORDED_CALL: "call_recording_id",
}


@dataclass(frozen=True)
class Controller:
    """The owner and operator of the database (from configuration)."""

    name: str
    bin: str


@dataclass(frozen=True)
class Notice:
    """The consent form the subject saw: id, version, SHA-256 of the text shown, language."""

    form_id: str
    form_version: str
    text_sha256: str
    language: Language


@dataclass(frozen=True)
class Collection:
    """How consent was collected, its proof, and who collected it."""

    method: CollectionMethod
    proof: dict[str, str]
    consultant_id: str | None = None
    store_id: str | None = None


@dataclass(frozen=True)
class Representative:
    """A representative acting under a power of attorney; their personal data goes to `pii`, not here."""

    power_of_attorney_ref: str


@dataclass(frozen=True)
class ConsentTerms:
    """Everything a ConsentGranted records except personal data (which travels encrypted)."""

    controller: Controller
    notice: Notice
    purposes: frozenset[Purpose]
    categories: frozenset[DataCategory]
    collection: Collection
    marketing_channels: frozenset[Channel] = frozenset()
    third_party_transfer: bool = False
    recipients: frozenset[str] = frozenset()  # empty with third_party_transfer: any third party
    cross_border_countries: frozenset[str] = frozenset()
    valid_until: date | None = None  # None: for the duration of the loyalty programme
    representative: Representative | None = None
    jurisdiction: str = "KZ"
    law: str = LAW
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise InvalidCommandError naming the first field that does not fit the policy."""
        checks: list[tuple[bool, str, str]] = [
            (bool(self.purposes), "purposes", "at least one purpose is required"),
            (bool(self.categories), "categories", "at least one data category is required"),
            (
                not self.marketing_channels or Purpose.MARKETING in self.purposes,
                "marketing_channels",
                "marketing channels need the marketing purpose",
            ),
            (
                not (self.cross_border_countries or self.recipients) or self.third_party_transfer,
                "third_party_transfer",
                "recipients or cross-border countries need third-party transfer to be allowed",
            ),
            (
                all(_COUNTRY.match(c) for c in self.cross_border_countries),
                "cross_border_countries",
                "countries are ISO 3166-1 alpha-2 codes, e.g. RU",
            ),
            ("KZ" not in self.cross_border_countries, "cross_border_countries", "KZ is not abroad"),
            (bool(_SHA256.match(self.notice.text_sha256)), "notice.text_sha256", "64 lowercase hex digits"),
            (len(self.controller.bin) == 12 and self.controller.bin.isdigit(), "controller.bin", "12 digits"),
        ]
        for ok, name, message in checks:
            if not ok:
                raise InvalidCommandError(name, message)
        needed = PROOF_FIELD[self.collection.method]
        if not self.collection.proof.get(needed):
            raise InvalidCommandError(f"collection.proof.{needed}", f"required for {self.collection.method.value}")
        if needed == "signed_scan_sha256" and not _SHA256.match(self.collection.proof[needed]):
            raise InvalidCommandError("collection.proof.signed_scan_sha256", "64 lowercase hex digits")
        if self.collection.method is CollectionMethod.TABLET_SMS and not self.collection.consultant_id:
            raise InvalidCommandError("collection.consultant_id", "the consultant whose tablet was used is required")

    def transfer_refusal(self, recipient: str, country: str) -> tuple[str, str] | None:
        """None if this consent covers a transfer to `recipient` in `country`, else (rule, reason)."""
        if not self.third_party_transfer:
            return "transfer_not_consented", "the consent does not allow transfer to third parties"
        if self.recipients and recipient not in self.recipients:
            return "transfer_not_consented", f"the consent does not name recipient {recipient!r}"
        if country != self.jurisdiction and country not in self.cross_border_countries:
            return "cross_border_not_consented", f"the consent does not allow cross-border transfer to {country}"
        return None

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON-ready form, as stored in the event (sets as sorted lists, dates as ISO), in field order.

        Spelled out rather than `dataclasses.asdict`, whose deep copies were a fifth of a grant's cost.
        """
        notice, collection, representative = self.notice, self.collection, self.representative
        return {
            "controller": {"name": self.controller.name, "bin": self.controller.bin},
            "notice": {
                "form_id": notice.form_id, "form_version": notice.form_version,
                "text_sha256": notice.text_sha256, "language": notice.language.value,
            },
            "purposes": sorted(str(v) for v in self.purposes),
            "categories": sorted(str(v) for v in self.categories),
            "collection": {
                "method": collection.method.value, "proof": dict(collection.proof),
                "consultant_id": collection.consultant_id, "store_id": collection.store_id,
            },
            "marketing_channels": sorted(str(v) for v in self.marketing_channels),
            "third_party_transfer": self.third_party_transfer,
            "recipients": sorted(self.recipients),
            "cross_border_countries": sorted(self.cross_border_countries),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "representative": (
                None if representative is None else {"power_of_attorney_ref": representative.power_of_attorney_ref}
            ),
            "jurisdiction": self.jurisdiction,
            "law": self.law,
            "extra": dict(self.extra),
        }  # fmt: skip

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ConsentTerms:
        """The inverse of to_payload."""
        collection = dict(payload["collection"])
        representative = payload.get("representative")
        return cls(
            controller=Controller(**payload["controller"]),
            notice=Notice(**{**payload["notice"], "language": Language(payload["notice"]["language"])}),
            purposes=frozenset(Purpose(p) for p in payload["purposes"]),
            categories=frozenset(DataCategory(c) for c in payload["categories"]),
            collection=Collection(**{**collection, "method": CollectionMethod(collection["method"])}),
            marketing_channels=frozenset(Channel(c) for c in payload["marketing_channels"]),
            third_party_transfer=payload["third_party_transfer"],
            recipients=frozenset(payload["recipients"]),
            cross_border_countries=frozenset(payload["cross_border_countries"]),
            valid_until=date.fromisoformat(payload["valid_until"]) if payload["valid_until"] else None,
            representative=Representative(**representative) if representative else None,
            jurisdiction=payload["jurisdiction"],
            law=payload["law"],
            extra=dict(payload.get("extra", {})),
        )
