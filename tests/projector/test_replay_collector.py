"""A replay holds off Python's cycle collector only while it folds a batch, and always lets it run again."""

from __future__ import annotations

import gc

import pytest

from services.platform.collector import collector_held


def test_the_collector_runs_again_after_a_batch_and_after_a_batch_that_failed() -> None:
    assert gc.isenabled()
    with collector_held():
        assert not gc.isenabled()
    assert gc.isenabled()

    with pytest.raises(RuntimeError), collector_held():
        raise RuntimeError("the store is away")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_held():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
