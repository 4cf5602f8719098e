"""What a ConsentGranted records (its `terms`): an ISO/IEC TS 27560-style consent record, without personal data.

Parsing ignores fields this version does not know (adding a field is not a breaking change).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer
from pydantic.json_schema import SkipJsonSchema

from schemas.commands import CATEGORIES, CHANNELS, COUNTRY, PURPOSES, SHA256
from schemas.fields import absent_or

COLLECTION_METHODS = Literal[
    "tablet_sms", "web_checkbox", "app_checkbox", "electronic_questionnaire", "signed_questionnaire", "recorded_call"
]


class RecordPart(BaseModel):
    """A part of the public contract: frozen, and tolerant of fields added in later releases."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Controller(RecordPart):
    """The owner and operator of the database that holds the data."""

    name: str = Field(description="The controller's legal name.", examples=["ESPERANCE-RK LLP"])
    bin: str = Field(pattern=r"^\d{12}$", description="Business identification number.", examples=["220240037922"])


class Notice(RecordPart):
    """The consent form the subject saw."""

    form_id: str = Field(description="Which form.", examples=["loyalty-consent"])
    form_version: str = Field(description="Its version.", examples=["2026.1"])
    text_sha256: SHA256 = Field(description="SHA-256 (lowercase hex) of the exact text shown.")
    language: Literal["kk", "ru"] = Field(description="The language it was shown in.", examples=["kk"])


class Proof(RecordPart):
    """The proof of consent; only the one the collection method requires is present."""

    sms_verification_id: str | SkipJsonSchema[None] = absent_or("tablet_sms: the SMS verification's id.")
    checkbox_form_version: str | SkipJsonSchema[None] = absent_or("web/app checkbox: the form version.")
    document_reference: str | SkipJsonSchema[None] = absent_or("electronic questionnaire: its reference.")
    signed_scan_sha256: SHA256 | SkipJsonSchema[None] = absent_or("signed questionnaire: the scan's SHA-256.")
    call_recording_id: str | SkipJsonSchema[None] = absent_or("recorded call: the recording's id.")

    @model_serializer(mode="wrap")
    def _present_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The ledger writes only the proof it holds; absent kinds stay absent rather than null.
        return {key: value for key, value in handler(self).items() if value is not None}


class Collection(RecordPart):
    """How consent was collected, its proof, and who collected it."""

    method: COLLECTION_METHODS = Field(description="How consent was given.", examples=["tablet_sms"])
    proof: Proof
    consultant_id: str | None = Field(
        default=None, description="The consultant whose tablet was used (set for tablet_sms).", examples=["c-017"]
    )
    store_id: str | None = Field(default=None, description="The store it was collected in.", examples=["store-ALA-3"])


class Representative(RecordPart):
    """A representative who acted under a power of attorney; their personal data is only in the envelope's `pii`."""

    power_of_attorney_ref: str = Field(description="Reference of the power of attorney.", examples=["poa-2026-0001"])


class ConsentTerms(RecordPart):
    """Everything a consent covers and how it was collected; personal data travels encrypted in `pii`."""

    controller: Controller
    notice: Notice
    purposes: list[PURPOSES] = Field(min_length=1, description="Purposes consented to, sorted.", examples=[["loyalty"]])
    categories: list[CATEGORIES] = Field(
        min_length=1, description="Categories of personal data covered, sorted.", examples=[["contacts", "name"]]
    )
    collection: Collection
    marketing_channels: list[CHANNELS] = Field(
        description="Channels marketing may use (needs the marketing purpose), sorted.", examples=[["email", "sms"]]
    )
    third_party_transfer: bool = Field(description="Whether transfer to third parties is allowed.")
    recipients: list[str] = Field(
        description="Named recipients, sorted; empty with third_party_transfer: any third party.", examples=[[]]
    )
    cross_border_countries: list[COUNTRY] = Field(
        description="Countries data may be transferred to (never KZ), sorted.", examples=[["RU"]]
    )
    valid_until: date | None = Field(
        description="The consent's last day; null: for the duration of the loyalty programme.", examples=[None]
    )
    representative: Representative | None = Field(description="Set when a representative consented.")
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$", description="Jurisdiction, ISO 3166-1 alpha-2.", examples=["KZ"])
    law: str = Field(description="The law the consent is given under.")
    extra: dict[str, str] = Field(default_factory=dict, description="Further attributes of the form, if any.")
