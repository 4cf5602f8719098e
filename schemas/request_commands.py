"""The commands about subjects' requests (Өтініш), and a subscriber's confirmation that it enforced an event."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.command_fields import DAY, REF, TEXT, Command


class IdentityDocument(BaseModel):
    """What a request (Өтініш) must carry (policy §5); encrypted under the subject's key."""

    document_number: str = Field(min_length=1, max_length=32)
    issued_on: DAY
    issued_by: str = Field(min_length=1, max_length=200)
    signature_ref: REF = Field(description="The handwritten or electronic signature's reference.")


class ReceiveSubjectRequest(Command):
    """Register a subject's request (SubjectRequestReceived); due three working days later."""

    type: Literal["ReceiveSubjectRequest"] = "ReceiveSubjectRequest"
    request_id: REF
    kind: Literal["access", "rectification", "blocking", "destruction", "withdrawal"]
    received_on: DAY = Field(
        description="The day the request was received: not after today in Kazakhstan. Requests are registered with "
        "the dpo scope, so any earlier day from 2000-01-01 is taken (a paper request entered late, or an import); "
        "the event records how many days late it was entered (`entered_late_by_days`), and the 3 working days to "
        "answer count from this day.",
        examples=["2026-05-22"],
    )
    by_representative: bool = False
    identity_document: IdentityDocument


class AnswerSubjectRequest(Command):
    """Record the answer to a request (SubjectRequestAnswered)."""

    type: Literal["AnswerSubjectRequest"] = "AnswerSubjectRequest"
    request_id: REF
    answered_on: DAY = Field(
        description="The day the answer was sent: not after today in Kazakhstan. Answers are recorded with the dpo "
        "scope, so any earlier day from 2000-01-01 is taken (an answer entered late, or an import).",
        examples=["2026-05-26"],
    )
    response_ref: REF | None = None


class RejectSubjectRequest(Command):
    """Reject a request with the reason (SubjectRequestRejected)."""

    type: Literal["RejectSubjectRequest"] = "RejectSubjectRequest"
    request_id: REF
    reason: TEXT


class ConfirmEnforcement(Command):
    """A subscriber confirms it acted on an event (EnforcementConfirmed)."""

    type: Literal["ConfirmEnforcement"] = "ConfirmEnforcement"
    system: REF = Field(examples=["loyalty"])
    enforced_event_id: REF
    action: TEXT = Field(examples=["card blocked", "data erased", "suppression applied"])
