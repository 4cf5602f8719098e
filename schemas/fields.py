"""Field helpers shared by the contract's models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent_or(description: str, **annotations: Any) -> Any:
    """A field the ledger leaves out when it has no value: never null on the wire, None once parsed.

    Type it `X | SkipJsonSchema[None]`, so the JSON Schema says "absent or X" rather than "X or null".
    """
    return Field(default=None, description=description, json_schema_extra=_no_default, **annotations)


def _exists_in_utc(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must lie between 0001-01-01 and 9999-12-31 in UTC") from None
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_exists_in_utc)]
"""An aware date and time that exists in UTC too (0001-01-01T00:00:00+14:00 does not: it is a day before year 1)."""
