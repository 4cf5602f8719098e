"""DataSubject: everything the ledger knows about one person's consent, and the rules for changing it.

Methods are the policy's verbs (grant_consent, request_withdrawal, block_data, ...); each checks
its rules against the subject's history and records a past-tense event, or raises
RuleViolationError naming the rule. Time, the actor and the calendar come in as arguments.
"""

from __future__ import annotations

from services.ledger.domain.consent_rules import ConsentRules
from services.ledger.domain.data_rules import DataRules
from services.ledger.domain.service_rules import ServiceRules


class DataSubject(ConsentRules, DataRules, ServiceRules):
    """One data subject's consent history; its id is the subject's opaque UUID."""
