"""Marketing as scenarios: the subject stops it on any channel at once and resumes it only by opting in.

All subjects and forms are synthetic.
"""

from __future__ import annotations

from services.ledger.domain import events as e
from services.ledger.domain.vocabulary import (
    Channel,
    ConsentStatus,
    Purpose,
)
from tests.ledger.scenario_support import (
    CONSULTANT,
    PII,
    consent_terms,
    ctx,
    given_consent,
    given_subject,
    recorded,
    refused,
)

# --- MarketingOptedOut / MarketingOptedIn -------------------------------------------------------------------------


def test_marketing_over_sms_stops_at_once_when_the_subject_demands_it() -> None:
    subject = given_consent()

    event_id = subject.opt_out_of_marketing(ctx(1), [Channel.SMS])

    assert recorded(subject, event_id, e.MarketingOptedOut).channels == ["sms"]
    assert subject.opted_out == {Channel.SMS}
    assert subject.consent_status is ConsentStatus.ACTIVE  # the rest of the consent stands


def test_only_channels_not_already_stopped_are_recorded_on_a_second_opt_out() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx(1), [Channel.SMS])

    event_id = subject.opt_out_of_marketing(ctx(2), [Channel.SMS, Channel.POST, Channel.EMAIL])

    assert recorded(subject, event_id, e.MarketingOptedOut).channels == ["email", "post"]
    assert subject.opted_out == {Channel.SMS, Channel.EMAIL, Channel.POST}


def test_a_person_with_no_consent_on_record_can_still_demand_that_phone_marketing_stop() -> None:
    subject = given_subject()

    event_id = subject.opt_out_of_marketing(ctx(1), [Channel.PHONE])

    assert recorded(subject, event_id, e.MarketingOptedOut).channels == ["phone"]


def test_marketing_over_sms_resumes_when_the_subject_opts_back_in() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx(1), [Channel.SMS])

    event_id = subject.opt_in_to_marketing(ctx(2), [Channel.SMS, Channel.EMAIL])

    assert recorded(subject, event_id, e.MarketingOptedIn).channels == ["sms"]  # e-mail was never stopped
    assert subject.opted_out == set()


def test_marketing_stopped_on_demand_stays_stopped_when_the_subject_consents_again() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx("stop-sms"), [Channel.SMS])

    subject.grant_consent(ctx("new-form", actor=CONSULTANT), consent_terms(), PII)

    assert subject.opted_out == {Channel.SMS}  # policy §4: it stops at the subject's demand; only an opt-in resumes


# --- Refusals: marketing ------------------------------------------------------------------------------------------


def test_stopping_marketing_that_is_already_stopped() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx("sms-stop"), [Channel.SMS])

    with refused(subject, "already_opted_out"):
        subject.opt_out_of_marketing(ctx(1), [Channel.SMS])


def test_resuming_marketing_under_a_consent_without_the_advertising_purpose() -> None:
    subject = given_consent(purposes={Purpose.LOYALTY, Purpose.DELIVERY_AND_SERVICE}, marketing_channels=set())
    subject.opt_out_of_marketing(ctx("sms-stop"), [Channel.SMS])

    with refused(subject, "marketing_not_consented"):
        subject.opt_in_to_marketing(ctx(1), [Channel.SMS])


def test_resuming_marketing_over_a_channel_the_consent_does_not_name() -> None:
    subject = given_consent()  # SMS and e-mail only
    subject.opt_out_of_marketing(ctx("phone-stop"), [Channel.PHONE])

    with refused(subject, "channel_not_consented") as refusal:
        subject.opt_in_to_marketing(ctx(1), [Channel.PHONE])

    assert "phone" in refusal.value.message


def test_resuming_marketing_that_was_never_stopped() -> None:
    subject = given_consent()

    with refused(subject, "not_opted_out"):
        subject.opt_in_to_marketing(ctx(1), [Channel.EMAIL])
