"""The survival run, short: one round of failures on the cluster stack loses, doubles and misprojects nothing.

`consent-ledger chaos` is run as operators run it (scripts/chaos does ten rounds and more); it starts
and stops every part by PID, and its last line is the JSON of what it counted.
"""

from __future__ import annotations

import subprocess
import sys

import orjson


def test_one_round_of_kills_and_a_database_restart_loses_nothing() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "services.cli", "chaos", "--rounds", "1", "--seed", "7"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    lines = run.stdout.strip().splitlines()
    assert lines, f"no output (exit {run.returncode}):\n{run.stderr[-5000:]}"
    figures = orjson.loads(lines[-1])

    assert figures["rounds"] == 1
    assert figures["acknowledged"] > 100, figures  # a steady load: not a handful of commands
    assert figures["acknowledged_over"]["kafka"] > 0, figures
    assert figures["cascades"] > 0, figures  # a projector was killed with a card cascade under way
    assert (figures["lost"], figures["duplicated"], figures["replay_mismatches"]) == (0, 0, 0), figures
    assert figures["instances_disagreeing"] == 0, figures  # each projector instance answers every subject alike
    for recovery in ("relay_takeover_s", "rebalance_s", "pg_catch_up_s"):
        assert figures[recovery] is not None, figures  # each failure happened and was recovered from
    assert run.returncode == 0, run.stderr[-5000:]
