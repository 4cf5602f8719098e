"""The bench's paths by name, apart from their code: the command line lists them without importing it."""

from __future__ import annotations

ALL = ("relay", "kafka_commands", "http_commands", "command_to_check", "projector_replay", "check", "bulk_check",
       "evidence", "history_cost")  # fmt: skip
"""What `consent-ledger bench all` measures, in order; `evidence` is evidence_build then evidence_verify."""

COMMANDS = ("relay", "kafka_commands", "http_commands", "command_to_check", "projector_replay", "check", "bulk_check",
            "evidence_build", "evidence_verify", "history_cost")  # fmt: skip
"""A command each (`consent-ledger bench relay`, ...); `consent-ledger bench evidence` builds and verifies."""
