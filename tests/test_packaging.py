"""It installs as a package (issue #8, D15): what the code reads at run time is in the wheel. The whole check (a
fresh virtual environment outside the checkout running `medmci plugins` and `medmci demo --once --json`) is a
step of .ci/run; this test builds the wheel and compares its file list with what the code reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from setuptools import find_namespace_packages

from federation.settings import default_config_dir

ROOT = Path(__file__).resolve().parent.parent
#: Files under config/ that are tools for people, not read by the code.
NOT_READ = {"demo/generate.py"}
SKIP_PARTS = {"__pycache__"}


def listed_packages() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]


def test_every_package_folder_is_listed_in_pyproject():
    found = {p for p in find_namespace_packages(str(ROOT), include=["federation*", "plugins*", "connectors*"])
             if not SKIP_PARTS & set(p.split("."))}
    assert found <= set(listed_packages()), sorted(found - set(listed_packages()))


def test_the_defaults_are_read_through_the_package(monkeypatch):
    monkeypatch.delenv("MEDMCI_CONFIG_DIR", raising=False)
    assert default_config_dir() == ROOT / "config"  # the editable install maps medmci_config to config/
    assert (default_config_dir() / "settings.yaml").is_file()


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> set[str]:
    """The file list of the wheel built from a copy of the sources (the checkout gets no build/ folder)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("federation", "plugins", "connectors", "config"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--wheel-dir", str(dist), str(source)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_every_config_file_the_code_reads(wheel_files):
    config = ROOT / "config"
    wanted = {f"medmci_config/{p.relative_to(config).as_posix()}" for p in config.rglob("*")
              if p.is_file() and not SKIP_PARTS & set(p.parts) and p.suffix != ".pyc"
              and p.relative_to(config).as_posix() not in NOT_READ}
    assert {"medmci_config/settings.yaml", "medmci_config/value_chains/agri-food.yaml",
            "medmci_config/subclusters/agri-food.yaml", "medmci_config/demo/federation.yaml",
            "medmci_config/demo/qoot/members.csv"} <= wanted
    assert wanted <= wheel_files, sorted(wanted - wheel_files)


def test_the_wheel_holds_the_taxonomies_and_migrations(wheel_files):
    data = [p for p in (ROOT / "plugins").rglob("*.csv")]
    data += [p for p in (ROOT / "federation").rglob("migrations/**/*") if p.is_file() and "__pycache__" not in p.parts]
    wanted = {p.relative_to(ROOT).as_posix() for p in data}
    assert any(w.endswith("0001_initial_hub_schema.py") for w in wanted)
    assert wanted <= wheel_files, sorted(wanted - wheel_files)


def test_the_wheel_holds_the_report_templates(wheel_files):
    wanted = {p.relative_to(ROOT).as_posix() for p in (ROOT / "federation" / "pilots" / "templates").glob("*.j2")}
    assert {"federation/pilots/templates/report.html.j2", "federation/pilots/templates/report.md.j2"} <= wanted
    assert wanted <= wheel_files, sorted(wanted - wheel_files)
