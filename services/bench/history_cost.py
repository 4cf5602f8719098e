"""history_cost: one command's latency on a subject with 10, 100 and 1,000 past events.

Each subject's history is saved at once (a grant, then opt-outs and opt-ins of SMS in turn); then
SAMPLES commands are run one after another through the ledger's own `Commands.handle` in this
process and the median taken. The line is the median at 1,000 past events; its ceiling is the
same command's median at 10: "flat" means the former within twice the latter.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from statistics import median

from schemas.commands import COMMANDS
from services.bench.environment import Bench
from services.bench.harness import Line, Meter, line
from services.bench.synthetic import Secrets, long_history, marketing
from services.ledger.bootstrap import LedgerServices

LEVELS = (10, 100, 1_000)
SAMPLES = 30


def _median_ms(wired: LedgerServices, past: int, samples: int, numbered: int) -> float:
    """The median latency of `samples` commands on a subject with `past` events (the last an opt-out)."""
    subject = long_history(wired.ledger, past)
    took = []
    for n in range(samples):
        command = COMMANDS.validate_python(marketing(numbered + n, opt_in=n % 2 == 0))
        began = time.perf_counter()
        wired.commands.handle(subject, command, actor="bench", now=datetime.now(UTC))
        took.append((time.perf_counter() - began) * 1000)
    return median(took)


def history_cost(bench: Bench) -> Line:
    """The median at 1,000 past events beside the median at 10 (and at 100 in the detail)."""
    samples = bench.size(SAMPLES)
    wired = Secrets.fresh().wired(bench.store_url("history"))
    try:
        progress = bench.task("history_cost", len(LEVELS))
        meter = Meter().start()
        medians = {}
        for level in LEVELS:
            medians[level] = _median_ms(wired, level, samples, level * samples)
            progress(1)
        usage = meter.stop()
    finally:
        wired.close()
    detail = {f"median_ms_at_{level}": figure for level, figure in medians.items()}
    return line("history_cost", medians[LEVELS[-1]], medians[LEVELS[0]], "the same command at 10 past events",
                events=samples * len(LEVELS), usage=usage, detail=detail)  # fmt: skip
