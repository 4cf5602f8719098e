"""deploy/'s Kafka, written from services.platform.topology alone: Strimzi's manifests, compose's brokers and setup.

`python -m services.devstack.manifests` writes deploy/kubernetes/*.yaml (strimzi), deploy/kafka/setup.sh and
the Kafka services between the two markers of deploy/compose.yaml (compose); with `--check` it writes
nothing and exits 1 naming each file that is not what topology gives now. No topic setting, principal or
ACL is kept anywhere else, and tests/infrastructure/test_manifests.py keeps the committed files equal to
these. How the files are used: docs/deploy.md.
"""

from __future__ import annotations

from pathlib import Path

from services.devstack.manifests.compose import SETUP_SCRIPT, setup_script, updated_compose
from services.devstack.manifests.strimzi import kubernetes_files
from services.devstack.manifests.text import COMMAND

ROOT = Path(__file__).resolve().parents[3]


def generated(root: Path = ROOT) -> dict[Path, str]:
    """Every file written under `root`, with the text topology gives it now (compose.yaml's own parts kept)."""
    deploy = root / "deploy"
    files = {deploy / "kubernetes" / name: text for name, text in kubernetes_files().items()}
    files[deploy / SETUP_SCRIPT] = setup_script()
    files[deploy / "compose.yaml"] = updated_compose((deploy / "compose.yaml").read_text())
    return files


def stale(root: Path = ROOT) -> list[Path]:
    """The files under `root` that are missing or differ from what topology gives now."""
    return [path for path, text in generated(root).items() if not path.exists() or path.read_text() != text]


def main(argv: list[str], root: Path = ROOT) -> int:
    """Write the files that differ, naming each; with --check write nothing, name them and return 1 if any."""
    fresh, outdated = generated(root), stale(root)
    for path in outdated:
        if "--check" in argv:
            print(f"stale: {path.relative_to(root)}; run {COMMAND}")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fresh[path])
            print(f"wrote {path.relative_to(root)}")
    return 1 if outdated and "--check" in argv else 0
