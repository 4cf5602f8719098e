"""Refusals: a command the rules do not allow, named by the rule that refused it."""

from __future__ import annotations


class RuleViolationError(Exception):
    """A command refused by a rule; `rule` is a stable code, the message says why in plain words."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class InvalidCommandError(ValueError):
    """A command whose content is inconsistent (e.g. a proof missing for its collection method)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
