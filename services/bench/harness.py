"""What every path shares: the budget table, the measured line, CPU and memory meters, percentiles, output."""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Budget:
    """A line's budget (the performance budget): a floor or a cap on the value, a share of the ceiling, a p99 cap."""

    unit: str
    text: str
    at_least: float | None = None
    at_most: float | None = None
    share: float | None = None  # the ratio (share of the ceiling reached) must be at least this
    p99_ms: float | None = None  # the line's detail "p99_ms" must be at most this

    @property
    def lower_is_better(self) -> bool:
        """Latencies: the ratio is ceiling / value, so that 1.0 still means "as good as the ceiling"."""
        return self.unit == "ms"

    def met(self, value: float, ratio: float, detail: dict[str, float]) -> bool:
        """Whether a measured value (with its ratio and detail) is within this budget."""
        checks = [
            self.at_least is None or value >= self.at_least,
            self.at_most is None or value <= self.at_most,
            self.share is None or ratio >= self.share,
            self.p99_ms is None or detail.get("p99_ms", float("inf")) <= self.p99_ms,
        ]
        return all(checks)


BUDGETS: dict[str, Budget] = {
    "relay": Budget("events/s", ">= 20,000/s and >= 50% of raw", at_least=20_000, share=0.5),
    "kafka_commands": Budget("commands/s", ">= 5,000/s", at_least=5_000),
    "http_commands": Budget("commands/s", ">= 1,000/s, p99 <= 50 ms", at_least=1_000, p99_ms=50),
    "command_to_check": Budget("ms", "p99 <= 200 ms", at_most=200),
    "projector_replay": Budget("events/s", ">= 20,000/s", at_least=20_000),
    "check": Budget("ms", "p99 <= 5 ms", at_most=5),
    "bulk_check": Budget("subjects/s", ">= 200,000/s", at_least=200_000),
    "evidence_build": Budget("events/s", "100k in <= 10 s", at_least=10_000),
    "evidence_verify": Budget("events/s", ">= 50,000/s", at_least=50_000),
    "history_cost": Budget("ms", "flat: at 1,000 past events within 2x of 10", share=0.5),
}


@dataclass(frozen=True)
class Usage:
    """CPU seconds and peak resident memory of the measured processes over a measurement."""

    cpu_s: float
    peak_rss_mb: float


@dataclass(frozen=True)
class Line:
    """One path's figure beside its ceiling, as printed and as written to --json (one object a line)."""

    path: str
    value: float
    unit: str
    ceiling: float
    ceiling_name: str
    ratio: float
    budget: str
    met: bool
    cpu_s_per_1000: float
    peak_rss_mb: float
    detail: dict[str, float] = field(default_factory=dict)

    def json(self) -> bytes:
        """The line as one JSON object (figures rounded to what the machine's noise allows)."""
        return orjson.dumps(asdict(self))


def line(
    path: str, value: float, ceiling: float, ceiling_name: str, *, events: int, usage: Usage,
    detail: dict[str, float] | None = None,
) -> Line:  # fmt: skip
    """The line of `path`: its ratio to the ceiling and whether its budget is met, CPU per 1,000 events."""
    budget = BUDGETS[path]
    better, worse = (ceiling, value) if budget.lower_is_better else (value, ceiling)
    ratio = better / worse if worse else 0.0
    extra = {name: round(figure, 3) for name, figure in (detail or {}).items()}
    return Line(
        path=path, value=round(value, 3), unit=budget.unit, ceiling=round(ceiling, 3), ceiling_name=ceiling_name,
        ratio=round(ratio, 3), budget=budget.text, met=budget.met(value, ratio, extra),
        cpu_s_per_1000=round(usage.cpu_s * 1000 / max(events, 1), 4), peak_rss_mb=round(usage.peak_rss_mb, 1),
        detail=extra,
    )  # fmt: skip


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of `samples` (share 0.5: the median, 0.99: p99); 0 when empty."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = math.ceil(round(share * len(ordered), 9))  # rounded first: 0.99 * 100 is 99.00000000000001
    return ordered[min(len(ordered) - 1, max(0, rank - 1))]


def rate(count: int, seconds: float) -> float:
    """Events per second (0 when nothing was timed)."""
    return count / seconds if seconds > 0 else 0.0


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Yield a list that holds the block's wall-clock seconds once it ends."""
    took: list[float] = []
    began = time.perf_counter()
    try:
        yield took
    finally:
        took.append(time.perf_counter() - began)


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_peak_mb(pid: int) -> float:
    """A running process's peak resident memory (VmHWM), MB; 0 where it cannot be read."""
    try:
        for text in Path(f"/proc/{pid}/status").read_text().splitlines():
            if text.startswith("VmHWM:"):
                return int(text.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _own_cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


class Meter:
    """CPU of this process and of the child processes it is told about, from `start` to `stop`.

    Peak memory is the largest peak resident set among them: this process's (ru_maxrss, its
    peak so far in the run) and each child's VmHWM.
    """

    def __init__(self, children: Iterable[int] = ()) -> None:
        self.children = list(children)
        self._began: dict[int, float] = {}
        self._own = 0.0

    def start(self) -> Meter:
        """Take the CPU figures the usage is counted from."""
        self._own = _own_cpu_s()
        self._began = {pid: _proc_cpu_s(pid) for pid in self.children}
        return self

    def stop(self) -> Usage:
        """The CPU used since `start` and the peak memory (read while the children still run)."""
        cpu = _own_cpu_s() - self._own
        cpu += sum(_proc_cpu_s(pid) - began for pid, began in self._began.items())
        peaks = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]
        peaks += [_proc_peak_mb(pid) for pid in self.children]
        return Usage(cpu, max(peaks))


def print_table(console: Console, lines: Sequence[Line]) -> None:
    """A row per path: value, unit, ceiling, ceiling name, ratio, budget, met; detail underneath."""
    table = Table(title="consent-ledger bench", show_lines=False)
    for heading in ("path", "value", "unit", "ceiling", "ceiling name", "ratio", "budget", "met", "cpu s/1k", "MB"):
        table.add_column(
            heading, justify="right" if heading in {"value", "ceiling", "ratio", "cpu s/1k", "MB"} else "left"
        )
    for item in lines:
        table.add_row(
            item.path, f"{item.value:,.1f}", item.unit, f"{item.ceiling:,.1f}", item.ceiling_name, f"{item.ratio:.2f}",
            item.budget, "[green]yes[/]" if item.met else "[red]no[/]", f"{item.cpu_s_per_1000:.3f}",
            f"{item.peak_rss_mb:.0f}",
        )  # fmt: skip
    console.print(table)
    for item in lines:
        if item.detail:
            details = ", ".join(f"{name} {figure:,}" for name, figure in item.detail.items())
            console.print(f"  {item.path}: {details}", highlight=False, soft_wrap=True)


def write_json(path: Path, lines: Sequence[Line]) -> None:
    """Write one JSON object a line to `path`."""
    path.write_bytes(b"".join(item.json() + b"\n" for item in lines))
