"""config/settings.yaml is the one place a setting's default is written.

Every setting the code reads (``settings.get("a.b")``, ``body_limit("a.b")``, a built-in plugin's
``plugin_config(NAME)`` block, a dataclass field's ``packaged_default("a.b")``) has its default in settings.yaml, no
read passes a literal default of its own, and every key of settings.yaml is read somewhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from federation.hub.api import RATE_LIMITED
from federation.settings import RENAMED, Settings

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for folder in ("federation", "plugins", "connectors") for p in sorted((ROOT / folder).rglob("*.py"))
           if "migrations" not in p.parts]
# The dynamic read hub/app.py makes: one limit per name of federation.hub.api.RATE_LIMITED.
DYNAMIC = {"rate_limits.{name}": {f"rate_limits.{name}" for name in RATE_LIMITED},
           # settings.py: the plugins.<name> block of any plugin (third-party ones may have none: a default of {}).
           "plugins.{name}": set()}


def leaves(data: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out |= leaves(value, f"{prefix}{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def defaults() -> set[str]:
    return leaves(yaml.safe_load((ROOT / "config" / "settings.yaml").read_text(encoding="utf-8")))


def _key(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                       for v in node.values)
    return None


class Reads(ast.NodeVisitor):
    """The setting reads of one module: ``(key, line, passes_a_default)``."""

    def __init__(self, path: Path, source: str):
        self.path = path
        self.reads: list[tuple[str, int, bool]] = []
        tree = ast.parse(source)
        self.plugin_name = next((n.value.value for n in tree.body if isinstance(n, ast.Assign)
                                 and [ast.unparse(t) for t in n.targets] == ["NAME"]
                                 and isinstance(n.value, ast.Constant)), None)
        self.blocks: set[str] = set()  # names bound to settings.plugin_config(NAME)
        self.visit(tree)

    def _is_plugin_block(self, node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id in self.blocks) or (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "plugin_config" and ast.unparse(node.args[0]) == "NAME")

    def visit_Assign(self, node):
        if self._is_plugin_block(node.value) and isinstance(node.value, ast.Call):
            self.blocks |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        self.generic_visit(node)

    def visit_Subscript(self, node):
        if self._is_plugin_block(node.value) and (key := _key(node.slice)):
            self.reads.append((f"plugins.{self.plugin_name}.{key}", node.lineno, False))
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        receiver = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
        key = _key(node.args[0]) if node.args else None
        if key is not None:
            if isinstance(func, ast.Attribute) and func.attr == "get" and (
                    receiver.endswith("settings") or receiver.endswith("settings()")
                    or (self.path.name == "settings.py" and receiver == "self")):
                self.reads.append((key, node.lineno, len(node.args) > 1 or bool(node.keywords)))
            elif isinstance(func, ast.Name) and func.id in ("body_limit", "packaged_default"):
                self.reads.append((key, node.lineno, len(node.args) > 2))
            elif isinstance(func, ast.Attribute) and func.attr == "get" and self._is_plugin_block(func.value):
                self.reads.append((f"plugins.{self.plugin_name}.{key}", node.lineno, len(node.args) > 1))
        # A helper given the block and a key: _positive_int(config, "min_countries").
        if len(node.args) >= 2 and self._is_plugin_block(node.args[0]) and (key := _key(node.args[1])):
            self.reads.append((f"plugins.{self.plugin_name}.{key}", node.lineno, len(node.args) > 2))
        self.generic_visit(node)


def code_reads() -> list[tuple[str, str, bool]]:
    out = []
    for path in SOURCES:
        for key, line, with_default in Reads(path, path.read_text(encoding="utf-8")).reads:
            out.append((key, f"{path.relative_to(ROOT)}:{line}", with_default))
    return out


def test_the_walk_finds_the_reads():
    where = {key for key, _place, _default in code_reads()}
    # One of each kind: settings.get, a dataclass field, body_limit, a plugin's block (subscript, .get, helper).
    assert {"harvest.timeout_s", "health.backoff_base_s", "api.max_import_bytes", "plugins.value_chains.path",
            "plugins.formation.min_countries", "plugins.formation.count_dormant", "database_url"} <= where


def test_every_setting_read_has_its_default_in_settings_yaml():
    known = defaults()
    missing = [(key, place) for key, place, _ in code_reads()
               if key not in DYNAMIC and key not in known and RENAMED.get(key) not in known]
    assert missing == []


def test_no_setting_read_passes_a_default_of_its_own():
    # The one exception: plugin_config's lenient read of plugins.<name> (a third-party plugin may have no block).
    with_default = [(key, place) for key, place, default in code_reads() if default and key != "plugins.{name}"]
    assert with_default == []


def test_every_key_of_settings_yaml_is_read():
    read = set()
    for key, _place, _default in code_reads():
        read |= DYNAMIC.get(key, {key})
    assert sorted(defaults() - read) == []


def test_dynamic_reads_are_the_known_ones():
    dynamic = {key for key, _place, _default in code_reads() if "{" in key}
    assert dynamic == set(DYNAMIC)


def test_dataclass_defaults_are_the_packaged_settings(tmp_path):
    from federation.hub.health import HealthPolicy
    from federation.hub.keyring import TrustLimits
    from federation.hub.limits import HarvestLimits

    settings = Settings.load(tmp_path, environ={})
    assert HarvestLimits() == HarvestLimits.from_settings(settings)
    assert TrustLimits() == TrustLimits.from_settings(settings)
    built, default = HealthPolicy.from_settings(settings), HealthPolicy()
    assert (built.base, built.cap, built.jitter, built.unavailable_after) == \
        (default.base, default.cap, default.jitter, default.unavailable_after)


def test_the_signing_librarys_own_defaults_are_the_packaged_settings():
    """federation.signing is a library its callers configure (the apps pass every bound from their settings); the
    defaults its functions keep for other callers must say what settings.yaml says, or one of them has drifted."""
    import inspect

    from federation.settings import packaged_settings
    from federation.signing import (MAX_REQUEST_SIGNATURE_BYTES, JsonLimits, precheck_request, verify_document,
                                    verify_request, verify_signed_request)

    packaged = packaged_settings()
    assert JsonLimits() == JsonLimits(max_depth=packaged.get("limits.max_json_depth"),
                                      max_items=packaged.get("limits.max_json_items"),
                                      max_number_digits=packaged.get("limits.max_number_digits"))
    assert MAX_REQUEST_SIGNATURE_BYTES == packaged.get("trust.max_request_signature_bytes")
    expected = {"max_age_s": packaged.get("trust.signature_max_age_s"),
                "skew_s": packaged.get("trust.signature_skew_s"),
                "max_bytes": packaged.get("trust.max_request_signature_bytes")}
    checked = 0
    for function in (verify_request, verify_signed_request, precheck_request, verify_document):
        for name, parameter in inspect.signature(function).parameters.items():
            if name in expected:
                assert parameter.default == expected[name], (function.__name__, name)
                checked += 1
    assert checked == 11  # every such parameter of the four functions
