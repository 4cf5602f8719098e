"""The public contract of consent.events.v1 and the other topics: what subscribers may depend on.

- `envelope`: canonical JSON and the event hash; `chain`: checking a batch of envelopes' hash chain.
- `events`: the CloudEvents envelope and each catalogue event's `data` as pydantic models,
  `parse_envelope` and `ContractError` (data models in `catalogue`, ConsentGranted's terms in
  `consent_record`).
- `v1/`: the JSON Schema (draft 2020-12) of each event, written by `python -m schemas.generate`.
- `kit`: for subscribers: `decode`, `ChainVerifier`, and `acknowledgement`/`confirm` on the system's own
  consent.acks.<system>.v1; for channels: `command_record` for their own consent.commands.<channel>.v1.
- `topics`: the topics' names, and the one each sender writes to (`commands_topic`, `acks_topic`).
- `commands`: the commands the ledger takes (field types in `command_fields`, the models in
  `consent_commands`, `data_commands` and `request_commands`).

Nothing here imports from services/: the projector and the subscribers depend on schemas/ only.
"""
