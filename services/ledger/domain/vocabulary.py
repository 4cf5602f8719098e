"""The policy's words: purposes, data categories, channels, collection methods and legal grounds."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """Purposes of processing (policy §2, consent form Appendix 1)."""

    LOYALTY = "loyalty"  # identify a participant, account for points, let them use discounts
    DELIVERY_AND_SERVICE = "delivery_and_service"
    MARKETING = "marketing"  # advertising messages by post, SMS, e-mail, phone and other channels
    CONTRACT = "contract"
    ANALYSIS = "analysis"
    PROMOTIONS = "promotions"  # determining winners of promotional events
    CONTACT_CENTRE = "contact_centre"
    LEGAL_DUTIES = "legal_duties"


class DataCategory(StrEnum):
    """Categories of personal data (policy §3 and Appendix 1)."""

    NAME = "name"  # surname, name, patronymic, including former ones
    IDENTITY_DOCUMENT = "identity_document"
    BIRTH = "birth"  # date and place of birth
    GENDER = "gender"
    RESIDENCE_ADDRESS = "residence_address"
    REGISTRATION_ADDRESS = "registration_address"
    CONTACTS = "contacts"  # phone numbers, e-mail


class Channel(StrEnum):
    """Channels of marketing messages."""

    SMS = "sms"
    EMAIL = "email"
    PHONE = "phone"
    POST = "post"
    OTHER = "other"


class CollectionMethod(StrEnum):
    """How consent was given (policy §4); each method has its own kind of proof."""

    TABLET_SMS = "tablet_sms"  # typed on a consultant's tablet, confirmed by SMS verification
    WEB_CHECKBOX = "web_checkbox"
    APP_CHECKBOX = "app_checkbox"
    ELECTRONIC_QUESTIONNAIRE = "electronic_questionnaire"  # e-mail or other electronic channels
    SIGNED_QUESTIONNAIRE = "signed_questionnaire"  # signed by hand, scanned
    RECORDED_CALL = "recorded_call"


class BlockGround(StrEnum):
    """Why personal data is blocked (policy §4, Blocking)."""

    ACCURACY_IN_DOUBT = "accuracy_in_doubt"
    SUBJECT_APPLICATION = "subject_application"  # the subject applied to protect their lawful rights


class UnblockGround(StrEnum):
    """Why a block ends."""

    DATA_CONFIRMED = "data_confirmed"  # reliable data obtained or the data confirmed
    APPLICATION_RESOLVED = "application_resolved"


class ErasureGround(StrEnum):
    """The six grounds for stopping processing and destroying data (policy §4)."""

    TERM_EXPIRED = "term_expired"
    PURPOSE_ACHIEVED = "purpose_achieved"
    SUBJECT_OR_AUTHORITY_DEMAND = "subject_or_authority_demand"
    DATA_DEFECTIVE = "data_defective"  # incomplete, outdated, inaccurate, unlawfully obtained or unnecessary
    CONSENT_WITHDRAWN = "consent_withdrawn"
    IRREMEDIABLE_VIOLATION = "irremediable_violation"


class WithdrawalRefusalReason(StrEnum):
    """Why a withdrawal would contradict law (policy §5: withdrawal is impossible then)."""

    UNFULFILLED_OBLIGATION = "unfulfilled_obligation"  # e.g. an open order still to be delivered
    LEGAL_RETENTION_DUTY = "legal_retention_duty"


class RequestKind(StrEnum):
    """What a subject's request (Өтініш) asks for."""

    ACCESS = "access"
    RECTIFICATION = "rectification"
    BLOCKING = "blocking"
    DESTRUCTION = "destruction"
    WITHDRAWAL = "withdrawal"


class Language(StrEnum):
    """Languages a consent form is shown in."""

    KK = "kk"
    RU = "ru"


class ConsentStatus(StrEnum):
    """Where a subject's consent stands."""

    NONE = "none"
    ACTIVE = "active"
    WITHDRAWAL_PENDING = "withdrawal_pending"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
