"""The command registry declares every command of the contract once, and what it declares is true."""

from __future__ import annotations

import typing

from schemas import commands as c
from services.ledger.application.registry import REGISTRY
from services.ledger.domain import events as e


def contract_models() -> set[type[c.Command]]:
    """The command models the public contract's union holds."""
    union = typing.get_args(c.AnyCommand)[0]
    return set(typing.get_args(union))


def test_every_command_of_the_contract_has_one_entry_and_each_its_own_route() -> None:
    paths = [spec.path for spec in REGISTRY]

    assert {spec.model for spec in REGISTRY} == contract_models()
    assert len(paths) == len(set(paths)) == len(contract_models())


def test_every_event_an_entry_says_it_records_is_an_event_of_the_catalogue() -> None:
    catalogue = {cls.__name__ for cls in vars(e).values() if isinstance(cls, type) and issubclass(cls, e.SubjectEvent)}

    assert all(spec.records for spec in REGISTRY)
    assert {name for spec in REGISTRY for name in spec.records} <= catalogue - {"SubjectEvent"}


# docs/architecture.md, "Who may do what": what only the DPO's token may do.
DPO_ONLY = {
    "ExpireConsent", "RefuseWithdrawal", "CompleteWithdrawal", "BlockPersonalData", "UnblockPersonalData",
    "ErasePersonalData", "BlockLoyaltyCard", "UnblockLoyaltyCard", "ReceiveSubjectRequest", "AnswerSubjectRequest",
    "RejectSubjectRequest",
}  # fmt: skip


def test_the_dpo_alone_runs_what_the_policy_reserves_to_the_dpo_and_channels_run_the_rest() -> None:
    assert {spec.name for spec in REGISTRY if spec.scope == "dpo"} == DPO_ONLY
    assert {spec.scope for spec in REGISTRY if spec.name not in DPO_ONLY} == {"consent:write"}


def test_kafka_carries_the_channels_commands_and_the_cascades_card_block_and_nothing_the_dpo_alone_decides() -> None:
    on_kafka = {spec.name for spec in REGISTRY if spec.kafka}

    assert on_kafka == {spec.name for spec in REGISTRY if spec.scope == "consent:write"} | {"BlockLoyaltyCard"}
    assert {spec.name for spec in REGISTRY if spec.acknowledgement} == {"ConfirmEnforcement"}
