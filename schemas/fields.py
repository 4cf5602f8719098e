"""Field helpers shared by the contract's models."""

from __future__ import annotations

from typing import Any

from pydantic import Field


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent_or(description: str, **annotations: Any) -> Any:
    """A field the ledger leaves out when it has no value: never null on the wire, None once parsed.

    Type it `X | SkipJsonSchema[None]`, so the JSON Schema says "absent or X" rather than "X or null".
    """
    return Field(default=None, description=description, json_schema_extra=_no_default, **annotations)
