"""docs/architecture.md names only what exists, lists every large module, and its layering rules hold.

What the page promises (its "Conventions" paragraph): a backticked path under federation/, plugins/, connectors/,
config/ or tests/ exists; a backticked dotted name starting with federation., plugins. or connectors. imports (or,
for plugins., is a setting: plugins.extra); a backticked dotted lowercase name whose first part is a top-level key of
config/settings.yaml is a setting there; a backticked name that starts with a capital letter or ends with "()" is an
attribute of a module named (by path or dotted name) in the same paragraph, list item or table row, or of the package
``federation``; when that attribute is a class or a function, one of those modules is where it is defined (its
``__module__``), so a module that only imports or re-exports it is not its home. Fenced code blocks are not read.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml

#: The repository: the nearest folder up with pyproject.toml and federation/ (wherever tests/ puts this file).
ROOT = next(p for p in Path(__file__).resolve().parents
            if (p / "pyproject.toml").is_file() and (p / "federation").is_dir())
DOC = ROOT / "docs" / "architecture.md"
CODE_FOLDERS = ("federation", "plugins", "connectors")
PATH_PREFIXES = ("federation/", "plugins/", "connectors/", "config/", "tests/")
LARGE = 500  # lines: a module over this must be in the sizes table

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
NAME = re.compile(r"[A-Za-z_]\w*(?:\.\w+)*(?:\(\))?")
PATH = re.compile(r"[\w./-]+")
# A new paragraph, list item, table row or heading starts a new block.
BLOCK_START = re.compile(r"\s*(?:\||[-*] |\d+\. |#)")
SETTINGS = yaml.safe_load((ROOT / "config" / "settings.yaml").read_text(encoding="utf-8"))


def blocks() -> list[str]:
    out, current = [], []
    for line in FENCE.sub("", DOC.read_text(encoding="utf-8")).splitlines():
        if not line.strip() or BLOCK_START.match(line):
            if current:
                out.append("\n".join(current))
            current = []
        if line.strip():
            current.append(line)
    if current:
        out.append("\n".join(current))
    return out


def tokens(block: str) -> list[str]:
    return [t.strip() for t in INLINE_CODE.findall(block)]


def is_path(token: str) -> bool:
    return token.startswith(PATH_PREFIXES) and PATH.fullmatch(token) is not None


def module_of_path(token: str) -> str | None:
    """The importable module a code path names (a .py file, or a package folder), else None."""
    if not token.startswith(tuple(f"{folder}/" for folder in CODE_FOLDERS)):
        return None
    path = ROOT / token
    if path.suffix == ".py" and path.is_file():
        parts = list(Path(token).with_suffix("").parts)
    elif (path / "__init__.py").is_file():
        parts = list(Path(token).parts)
    else:
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_setting(dotted: str) -> bool:
    node = SETTINGS
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def resolve(dotted: str):
    """The object ``dotted`` names (the longest importable module prefix, then attributes), or None."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attribute in parts[i:]:
            if not hasattr(obj, attribute):
                return None
            obj = getattr(obj, attribute)
        return obj
    return None


def home(obj) -> str | None:
    """The module a class or function is defined in; None for other objects (constants, instances, properties)
    and for the test session's stand-ins (tests/support/hook_calls.py watches ``get_plugin_manager``)."""
    if inspect.isclass(obj) or inspect.isroutine(obj):
        module = getattr(obj, "__module__", None)
        return None if module is None or module.startswith("tests.") else module
    return None


def classify(token: str) -> str | None:
    """path, dotted (a module or object by its full name), setting, name (short, resolved in its block) or None."""
    if is_path(token):
        return "path"
    if not NAME.fullmatch(token) or token.startswith("MEDMCI_"):  # (environment variables)
        return None
    bare = token.removesuffix("()")
    first = bare.split(".")[0]
    if "." in bare and first in CODE_FOLDERS:
        return "dotted"
    if "." in bare and first in SETTINGS and bare == bare.lower() and not token.endswith("()"):
        return "setting"
    if bare[0].isupper() or token.endswith("()"):
        return "name"
    return None


def checked(kind: str) -> list[tuple[str, str]]:
    return [(token, block) for block in blocks() for token in tokens(block) if classify(token) == kind]


def test_the_page_is_read():
    assert len(checked("path")) > 50 and len(checked("name")) > 100 and len(checked("setting")) > 20


def test_every_path_exists():
    missing = sorted({token for token, _block in checked("path") if not (ROOT / token).exists()})
    assert missing == []


def test_every_dotted_name_imports():
    wrong = sorted({token for token, _block in checked("dotted")
                    if resolve(token.removesuffix("()")) is None
                    and not (token.startswith("plugins.") and is_setting(token))})
    assert wrong == []


def test_every_setting_is_in_settings_yaml():
    assert sorted({token for token, _block in checked("setting") if not is_setting(token)}) == []


def test_every_name_belongs_to_a_module_of_its_block():
    wrong = []
    for token, block in checked("name"):
        modules = {module_of_path(t) for t in tokens(block) if is_path(t)} - {None}
        modules |= {t for t in tokens(block) if classify(t) == "dotted" and isinstance(resolve(t), ModuleType)}
        modules.add("federation")
        name = token.removesuffix("()")
        first = name.split(".")[0]  # a class's method is at home where its class is
        found = [module for module in sorted(modules) if resolve(f"{module}.{name}") is not None]
        if not found:
            wrong.append(f"{token} (looked in {', '.join(sorted(modules))})")
            continue
        homes = {home(resolve(f"{module}.{first}")) for module in found}
        if None not in homes and not homes & modules:
            wrong.append(f"{token} (defined in {', '.join(sorted(h for h in homes if h))}, "
                         f"not in {', '.join(sorted(modules))})")
    assert wrong == []


def test_a_re_export_is_not_a_home():
    """The check above looks for where a name is defined: a module that imports it does not pass for its home."""
    assert home(resolve("federation.node.service.MemberImporter")) == "federation.node.importer"
    assert home(resolve("federation.hub.store.HarvestStore.record_quiet")) == "federation.hub.store"
    assert home(resolve("federation.hub.harvest.QUIET_BATCH")) is None  # a constant: being there is enough


def test_every_module_over_500_lines_is_in_the_sizes_table():
    text = DOC.read_text(encoding="utf-8")
    heading = re.search(r"^## .*Module sizes.*$", text, re.M)
    assert heading, "the page has a 'Module sizes' section"
    section = text[heading.end():]
    section = section[:m.start()] if (m := re.search(r"^## ", section, re.M)) else section
    listed = set(re.findall(r"^\|\s*`([^`]+)`", section, re.M))
    large = sorted(str(p.relative_to(ROOT)) for folder in CODE_FOLDERS for p in (ROOT / folder).rglob("*.py")
                   if len(p.read_text(encoding="utf-8").splitlines()) > LARGE)
    assert [module for module in large if module not in listed] == []


# ------------------------------------------------------------------------------------------------ layering


def imports_of(path: Path) -> set[str]:
    """Every module (and ``module.name``) a source file imports, relative imports resolved, lazy ones included."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module.removesuffix(".__init__") if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


APPS = ("federation.node", "federation.hub", "federation.cli")
DEMO_MODULES = tuple(str(p.relative_to(ROOT)) for p in sorted((ROOT / "federation").glob("demo*.py")))
#: rule -> (folders and files it covers, those it leaves out, modules they may not import)
LAYERS = {
    "the hub never imports the node": (("federation/hub",), (), ("federation.node",)),
    "the node never imports the hub": (("federation/node",), (), ("federation.hub",)),
    # The demo (demo.py, its story demo_story.py and the story's samples demo_*.py) runs both apps: it sits above
    # them, not in the core.
    "the shared core imports no app": (("federation",), ("federation/node", "federation/hub", "federation/cli",
                                                         *DEMO_MODULES), APPS),
    "connectors import no app": (("connectors",), (), APPS),
}


def sources(covered, left_out) -> list[Path]:
    files = [p for place in covered for p in ((ROOT / place).rglob("*.py") if (ROOT / place).is_dir()
                                              else [ROOT / place])]
    return [p for p in files if not any(p == ROOT / out or (ROOT / out) in p.parents for out in left_out)]


@pytest.mark.parametrize("rule", LAYERS)
def test_layering(rule):
    covered, left_out, forbidden = LAYERS[rule]
    files = sources(covered, left_out)
    assert files
    offenders = sorted(f"{path.relative_to(ROOT)}: {name}" for path in files for name in imports_of(path)
                       if any(name == f or name.startswith(f"{f}.") for f in forbidden))
    assert offenders == []


def connectors_paragraph() -> str:
    return next(block for block in blocks() if block.startswith("**Connectors.**"))


def test_the_connectors_paragraph_says_what_connectors_import():
    """The core modules the page says connectors use are imported by some connector, and none is an app."""
    used = {name for path in sources(("connectors",), ()) for name in imports_of(path)}
    named = [t for t in tokens(connectors_paragraph()) if classify(t) == "dotted" and t.startswith("federation.")]
    assert named
    core = [t for t in named if not t.startswith(APPS)]
    assert core and [t for t in core if t not in used] == []
    assert sorted(t for t in named if t.startswith(APPS)) == sorted(APPS)  # the apps it says they never import


def test_the_layering_check_sees_what_it_must():
    found = imports_of(ROOT / "federation" / "hub" / "app.py")
    assert "federation.hub.nodes.NodeDirectory" in found and "federation.registry" in found
    assert "federation.profile.reader" in imports_of(ROOT / "connectors" / "member_import" / "rows.py")
    assert "federation.node.app" in imports_of(ROOT / "federation" / "demo.py")  # left out of the core rule: above both
    assert ROOT / "federation" / "demo.py" not in sources(*LAYERS["the shared core imports no app"][:2])
