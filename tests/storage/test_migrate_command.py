"""`consent-ledger migrate` on fresh SQLite stores: it makes the tables, says so, and a second run does nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from services.cli import app
from tests.storage.previous_layout import tables


def test_migrate_upgrades_the_ledger_and_the_projector_stores_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    ledger, projector = f"sqlite:///{tmp_path / 'ledger.sqlite3'}", f"sqlite:///{tmp_path / 'projector.sqlite3'}"
    env = {"CONSENT_LEDGER_STORE": ledger, "CONSENT_PROJECTOR_STORE": projector}

    first = CliRunner().invoke(app, ["migrate"], env=env)
    second = CliRunner().invoke(app, ["migrate"], env=env)

    assert first.exit_code == 0, first.output
    assert "ledger side tables: none -> 0002" in first.output
    assert "projector read model: none -> 0002" in first.output
    assert second.exit_code == 0, second.output
    assert "ledger side tables: already at 0002" in second.output
    assert "projector read model: already at 0002" in second.output
    assert tables(ledger) == {"consent_forms", "subject_keys", "ledger_commands", "alembic_version_ledger"}
    assert "subject_state" in tables(projector)
