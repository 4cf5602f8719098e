"""A subject's snapshot: its decision state at one version, so a load reads it and the events after it only.

The state is the subject's own `snapshot_state` (JSON values, no personal data), not the library's
copy of the aggregate's attributes: enums, sets, dates and terms need no transcodings, and the
form of a snapshot is this ledger's to keep. Snapshots only shorten loading; the events stay the record
(an audit replays every event) and a snapshot can always be taken again from them.
"""

from __future__ import annotations

from typing import Any, Self, cast

from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic, resolve_topic

from services.ledger.domain.state import SubjectState


class SubjectSnapshot(Snapshot):
    """A snapshot of a SubjectState (the DataSubject): `state` is its `snapshot_state()`."""

    @classmethod
    def take(cls, aggregate: Any) -> Self:
        """The snapshot of `aggregate` as it stands (its pending events are not part of it)."""
        subject = cast("SubjectState", aggregate)
        return cls(
            originator_id=subject.id,
            originator_version=subject.version,
            timestamp=cls.create_timestamp(),
            topic=get_topic(type(subject)),
            state=subject.snapshot_state(),
        )

    def mutate(self, _: Any) -> Any:
        """The subject this snapshot was taken of."""
        subject_class = cast("type[SubjectState]", resolve_topic(self.topic))
        return subject_class.restore(self.originator_id, self.originator_version, dict(self.state))
