"""The README's table of command routes, written from the registry.

`python -m services.ledger.entrypoints.http.route_table` rewrites the table between its two markers in
README.md; `--check` writes nothing and exits 1 when the README no longer matches the registry.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from services.ledger.application.registry import REGISTRY, CommandSpec

README = Path(__file__).resolve().parents[4] / "README.md"
BEGIN = "<!-- command routes: python -m services.ledger.entrypoints.http.route_table writes this table -->"
END = "<!-- end of the command routes -->"


def table() -> str:
    """One row per command of the registry, in its order."""
    rows = [
        "| `POST /v1…` | command | records | scope | Kafka |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec in REGISTRY:
        what = (spec.model.__doc__ or "").strip().splitlines()[0]
        kafka = _on_kafka(spec)
        rows.append(f"| `{spec.path}` | {spec.name}: {what} | {', '.join(spec.records)} | {spec.scope} | {kafka} |")
    return "\n".join(rows)


def _on_kafka(spec: CommandSpec[Any]) -> str:
    """Whose Kafka topic may carry the command (decision 0018): a subscriber's, a channel's, the cascade's."""
    if not spec.kafka:
        return ""
    if spec.acknowledgement:
        return "subscriber's acks"
    return "cascade's" if spec.cascade else "channel's"


def updated(readme: str) -> str:
    """`readme` with the table between the markers written anew."""
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return f"{readme[:start]}\n{table()}\n{readme[end:]}"


def main(argv: list[str]) -> int:
    """Write the table into README.md, or with --check say whether it is up to date."""
    readme = README.read_text()
    fresh = updated(readme)
    if fresh == readme:
        return 0
    if "--check" in argv:
        print(f"stale: the command routes in {README}; run python -m services.ledger.entrypoints.http.route_table")
        return 1
    README.write_text(fresh)
    print(f"wrote the command routes into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
