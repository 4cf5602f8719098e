"""The JSON Schema files under schemas/v1/ are exactly what the models give: a stale file fails the build."""

from __future__ import annotations

import json
from pathlib import Path

from schemas import generate
from schemas.envelope import data_schema
from schemas.events import EVENT_MODELS

REGENERATE = "run `.venv/bin/python -m schemas.generate` and commit schemas/v1/"


def test_the_committed_schema_files_are_what_the_models_give() -> None:
    stale = generate.stale()

    assert not stale, f"schemas/v1/ is stale ({', '.join(stale)}): {REGENERATE}"


def test_there_is_one_draft_2020_12_schema_per_catalogue_event_identified_by_its_dataschema() -> None:
    files = sorted(generate.DIRECTORY.glob("*.schema.json"))

    assert [path.name for path in files] == sorted(f"{name}.schema.json" for name in EVENT_MODELS), REGENERATE
    for path in files:
        schema = json.loads(path.read_text(encoding="utf-8"))
        name = path.name.removesuffix(".schema.json")
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == data_schema(name)
        assert schema["properties"]["dataschema"]["const"] == data_schema(name)
        assert schema["properties"]["data"] == {"$ref": f"#/$defs/{name}"}


def test_the_staleness_check_sees_a_changed_a_missing_and_a_left_over_file(tmp_path: Path) -> None:
    generate.write(tmp_path)
    assert generate.stale(tmp_path) == []

    (tmp_path / "ConsentGranted.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "ConsentExpired.schema.json").unlink()
    (tmp_path / "ConsentRenamed.schema.json").write_text("{}\n", encoding="utf-8")

    outdated = ["ConsentExpired.schema.json", "ConsentGranted.schema.json", "ConsentRenamed.schema.json"]
    assert generate.stale(tmp_path) == outdated
    assert generate.write(tmp_path) == outdated
    assert generate.stale(tmp_path) == []
    assert not (tmp_path / "ConsentRenamed.schema.json").exists()
