"""`consent-ledger bench`: the lines it writes have every field, and it leaves no process or folder behind.

Shape only, never speed: the machines that run the tests are too noisy for timed assertions.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from services.bench import environment
from services.bench.harness import BUDGETS, Usage, line, percentile
from services.cli import app

FIELDS = {
    "path", "value", "unit", "ceiling", "ceiling_name", "ratio", "budget", "met", "cpu_s_per_1000", "peak_rss_mb",
}  # fmt: skip


def recording(started: list[tuple[subprocess.Popen[bytes], Path]]) -> Callable[..., subprocess.Popen[bytes]]:
    """environment.start_child, remembering each child and its log (in the bench's temporary folder)."""
    real = environment.start_child

    def start(argv: Any, *, log_path: Path, **options: Any) -> subprocess.Popen[bytes]:
        process = real(argv, log_path=log_path, **options)
        started.append((process, log_path))
        return process

    return start


def test_a_bench_path_writes_a_json_line_with_every_field_and_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    monkeypatch.setattr(environment, "start_child", recording(started))
    out = tmp_path / "bench.jsonl"

    result = CliRunner().invoke(
        app, ["bench", "http_commands", "--store", "sqlite", "--events", "200", "--json", str(out)]
    )

    assert result.exit_code == 0, result.output
    lines = [orjson.loads(text) for text in out.read_bytes().splitlines()]
    assert [item["path"] for item in lines] == ["http_commands"]
    assert lines[0].keys() >= FIELDS
    assert lines[0]["unit"] == "commands/s"
    assert isinstance(lines[0]["met"], bool)
    assert min(lines[0]["value"], lines[0]["ceiling"], lines[0]["peak_rss_mb"]) > 0
    assert {"p50_ms", "p99_ms"} <= lines[0]["detail"].keys()
    assert len(started) == 2  # the ledger and the trivial app
    for process, log in started:
        assert process.poll() is not None
        with pytest.raises(ProcessLookupError):
            os.kill(process.pid, 0)
        assert not log.parent.exists()  # the run's temporary folder is gone


def test_bench_evidence_still_runs_and_writes_its_two_lines(tmp_path: Path) -> None:
    out = tmp_path / "evidence.jsonl"

    result = CliRunner().invoke(app, ["bench", "evidence", "--events", "200", "--json", str(out)])

    assert result.exit_code == 0, result.output
    lines = [orjson.loads(text) for text in out.read_bytes().splitlines()]
    assert [item["path"] for item in lines] == ["evidence_build", "evidence_verify"]
    assert all(item.keys() >= FIELDS for item in lines)


def test_a_latency_line_reaches_its_ceiling_with_a_ratio_of_ceiling_over_value() -> None:
    faster = line("check", 10.0, 5.0, "trivial", events=100, usage=Usage(1.0, 50.0))
    slower = line("relay", 10_000.0, 20_000.0, "raw", events=1000, usage=Usage(1.0, 50.0))

    assert (faster.ratio, faster.met, faster.cpu_s_per_1000) == (0.5, False, 10.0)
    assert (slower.ratio, slower.met) == (0.5, False)
    assert set(BUDGETS) >= {"relay", "kafka_commands", "http_commands", "command_to_check", "projector_replay"}
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile(list(map(float, range(1, 101))), 0.99) == 99.0


def test_every_path_has_its_command_and_every_name_its_path() -> None:
    from services.bench.names import ALL, COMMANDS  # noqa: PLC0415 - beside the code it checks
    from services.bench.run import PATHS  # noqa: PLC0415

    assert set(PATHS) == {*ALL, *COMMANDS}
    assert set(COMMANDS) == set(BUDGETS), "one command per line of the budget"
