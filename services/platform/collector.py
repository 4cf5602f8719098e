"""Python's cycle collector held off while one batch of records is folded, then let run again.

A batch builds tens of thousands of small objects (each envelope's models, lists and dicts, the
states folded from them) that live until the batch is stored and then die by reference counting:
none of them is in a cycle. While they live, every 700 allocations start a collection that walks
them, and the oldest generation's full collections walk the whole heap; on a replay that was a
third of the time. Held off for the batch, the collector meets none of them; cycles made meanwhile
(by anyone in the process) are collected by the first collection after it, so at most one batch's
garbage waits.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_held() -> Iterator[None]:
    """Hold off the cycle collector for the block; as it was afterwards, also on an error (it nests)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
