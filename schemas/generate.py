"""Write the JSON Schema (draft 2020-12) of each consent.events.v1 event to schemas/v1/: `python -m schemas.generate`.

One file per catalogue event, `<Name>.schema.json`: the whole envelope with that event's `data`,
`$id` = the event's `dataschema` URN. `--check` writes nothing and exits 1 if a file is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.envelope import data_schema
from schemas.events import ENVELOPE_MODELS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DIRECTORY = Path(__file__).parent / "v1"
COMMAND = "python -m schemas.generate"


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one catalogue event's envelope."""
    body = ENVELOPE_MODELS[name].model_json_schema(mode="validation")
    return {"$schema": DRAFT, "$id": data_schema(name), **body}


def render() -> dict[str, str]:
    """Every schema file's name and exact text."""
    return {
        f"{name}.schema.json": json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n"
        for name in ENVELOPE_MODELS
    }


def stale(directory: Path = DIRECTORY) -> list[str]:
    """Files under `directory` that differ from what the models give, are missing, or are left over."""
    wanted = render()
    present = {path.name for path in directory.glob("*.schema.json")}
    differing = [
        name
        for name, text in wanted.items()
        if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != text
    ]
    return sorted(differing + [name for name in present if name not in wanted])


def write(directory: Path = DIRECTORY) -> list[str]:
    """Bring `directory` in line with the models; the names of the files written or removed."""
    changed = stale(directory)
    directory.mkdir(parents=True, exist_ok=True)
    wanted = render()
    for name in changed:
        if name in wanted:
            (directory / name).write_text(wanted[name], encoding="utf-8")
        else:
            (directory / name).unlink()
    return changed


def main(argv: list[str]) -> int:
    """Regenerate the files, or with --check only report stale ones."""
    if "--check" in argv:
        outdated = stale()
        for name in outdated:
            print(f"stale: schemas/v1/{name}")
        return 1 if outdated else 0
    for name in write():
        print(f"wrote schemas/v1/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
