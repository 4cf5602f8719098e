"""The project's documentation is its own: every link stays in the repository, and it says what the API does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.ledger.bootstrap import build
from services.ledger.entrypoints.http import route_table
from services.ledger.entrypoints.http.app import create_app
from services.ledger.entrypoints.http.commands import COMMAND_ROUTES
from tests.ledger.test_http_api import Clock, http_settings

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def links(document: Path) -> list[str]:
    """The targets of the Markdown links in `document`."""
    return LINK.findall(document.read_text())


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_every_link_of_the_documentation_leads_to_a_file_in_the_repository(document: Path) -> None:
    outside = []
    for target in links(document):
        if target.startswith("#"):
            continue
        path = (document.parent / target.split("#")[0]).resolve()
        if "://" in target or not path.is_relative_to(ROOT) or not path.exists():
            outside.append(target)

    assert outside == []
    assert "shared/" not in document.read_text()  # documents the project does not carry are no documentation


def test_the_readme_links_the_users_documentation() -> None:
    readme = links(ROOT / "README.md")

    assert {"docs/policy.md", "docs/architecture.md"} <= set(readme)


def test_a_repeated_command_id_is_documented_both_ways_in_the_readme_and_the_openapi(tmp_path: Path) -> None:
    app = create_app(wired=build(http_settings(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"), Clock()))
    paths = app.openapi()["paths"]
    readme = (ROOT / "README.md").read_text()

    for route, model, _ in COMMAND_ROUTES:
        answers = paths[f"/v1/subjects/{{subject_id}}{route}"]["post"]["responses"]
        assert "replayed" in answers["200"]["description"], model.__name__
        assert "command_id_reused" in answers["409"]["description"], model.__name__
    assert "replayed: true" in readme
    assert "command_id_reused" in readme
    app.state.ledger.close()


def test_the_readmes_table_of_command_routes_is_the_registry() -> None:
    readme = (ROOT / "README.md").read_text()

    assert route_table.updated(readme) == readme, "run python -m services.ledger.entrypoints.http.route_table"
