"""Fixtures of the command-line tests: a CliRunner that ignores the caller's environment, and a hub instance."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from tests.support.environment import TEST_SETTINGS


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    """A CliRunner for ``medmci``: the instance folders decide everything, no database, instance or plugin setting
    comes from the caller's environment."""
    for name in ("DATABASE_URL", "MEDMCI_DATABASE_URL", "MEDMCI_NODE_INSTANCE", "MEDMCI_HUB_INSTANCE",
                 "MEDMCI_PLUGINS", "MEDMCI_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture
def hub_instance(tmp_path):
    """A hub instance folder (``tmp_path/hub``) whose medmci.yaml holds the test settings."""
    path = tmp_path / "hub"
    path.mkdir()
    (path / "medmci.yaml").write_text(yaml.safe_dump(TEST_SETTINGS), encoding="utf-8")
    return path
