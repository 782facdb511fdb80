"""The JSON Schema of the profile document, derived from the marshmallow schemas (never written by hand)."""

from __future__ import annotations

import json
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields, validate

from .schema import CURRENT_VERSION, PROFILE_SCHEMA_ID, ProfileSchema

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _rewrite_refs(node):
    if isinstance(node, dict):
        return {k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _rewrite_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def dict_keys_enum(_converter, field, **_kwargs) -> dict:
    """apispec attribute function: a Dict whose keys are validated by OneOf (languages, contact fields) says so
    (``propertyNames``), which apispec leaves out."""
    keys = getattr(field, "key_field", None)
    if isinstance(field, fields.Dict) and keys is not None:
        for validator in getattr(keys, "validators", ()):
            if isinstance(validator, validate.OneOf):
                return {"propertyNames": {"enum": list(validator.choices)}}
    return {}


@cache
def _profile_json_schema_text() -> str:
    # OpenAPI 3.1 schema objects are JSON Schema 2020-12, so apispec's converter gives us the dialect we publish.
    plugin = MarshmallowPlugin()
    spec = APISpec(title=PROFILE_SCHEMA_ID, version=CURRENT_VERSION, openapi_version="3.1.0", plugins=[plugin])
    if plugin.converter is None:  # made when APISpec registers the plugin, just above
        raise RuntimeError("apispec did not initialise its marshmallow plugin")
    plugin.converter.add_attribute_function(dict_keys_enum)
    spec.components.schema("Profile", schema=ProfileSchema)
    components = _rewrite_refs(spec.to_dict()["components"]["schemas"])
    root = components.pop("Profile")
    document = {"$schema": DIALECT, "$id": f"urn:{PROFILE_SCHEMA_ID}:{CURRENT_VERSION}",
                "title": f"Med-MCI cluster profile, version {CURRENT_VERSION}", **root, "$defs": components}
    return json.dumps(document, sort_keys=True)


def profile_json_schema() -> dict:
    """A fresh copy of the JSON Schema of the current profile version."""
    return json.loads(_profile_json_schema_text())
