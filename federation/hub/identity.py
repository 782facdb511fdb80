"""What a node may call itself: the checks on the identity a discovery document (or the operator) gives the hub.

The cluster a discovery document names is validated with the profile's own :class:`ClusterSchema` (slug id, ISO
country, bounded names), so a node can never be registered under an identity its profiles could not carry. An id
must also not pass for another node's: ids are compared after Unicode NFKC and case folding, and then as Unicode
TR39 confusables (``confusables``: ``rn`` reads as ``m``, ``0`` as ``o``, Cyrillic ``а`` as Latin ``a``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from confusables import is_confusable
from marshmallow import EXCLUDE
from marshmallow import ValidationError as SchemaError

from ..errors import Conflict, ValidationError
from ..profile.reader import first_message
from ..profile.schema import ClusterSchema
from ..text import BIDI_CONTROLS, text_problem  # noqa: F401 (BIDI_CONTROLS: importable from here as before)

MAX_NAME = 300


def cluster_from_discovery(cluster) -> dict:
    """The discovery document's cluster, loaded by the profile's schema; 422 naming the fields at fault."""
    if not isinstance(cluster, Mapping):
        raise ValidationError("the node publishes no cluster yet (set its cluster profile first)",
                              {"url": ["the discovery document names no cluster"]})
    try:
        # Fields a later minor version may add are ignored here; the profile's own validation judges them.
        # Names are optional here (the profile must carry them); bounded and plain text when present.
        loaded = ClusterSchema(unknown=EXCLUDE, partial=("names",)).load(dict(cluster))
    except SchemaError as exc:
        raise ValidationError("the node's discovery document names an invalid cluster: "
                              f"{first_message(exc.messages)}", {"cluster": exc.messages}) from exc
    for lang, text in (loaded.get("names") or {}).items():
        check_text(f"cluster.names.{lang}", text)
    return loaded


def check_text(field: str, value: str | None, max_length: int = MAX_NAME) -> str | None:
    """A display name from outside: bounded, one line of text as federation.text defines it."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string", {field: ["a non-empty string"]})
    if len(value) > max_length:
        raise ValidationError(f"{field} is longer than {max_length} characters", {field: [f"{max_length} at most"]})
    problem = text_problem(value)  # the same rule as the API's and the harvest's (federation.text)
    if problem:
        raise ValidationError(f"{field}: {problem}", {field: [problem]})
    return value


def fold(value: str) -> str:
    """NFKC, case folded, without spaces: what two ids that only look different have in common."""
    return "".join(unicodedata.normalize("NFKC", value).casefold().split())


def check_distinct(new_ids: Iterable[str], existing: Iterable[str]) -> None:
    """409 when a new id differs from an existing node or cluster id only by case, spaces or confusable characters
    (an id equal to an existing one is the caller's check: its message is more precise)."""
    existing = [e for e in set(existing) if e]
    for new in dict.fromkeys(new_ids):
        folded = fold(new)
        for other in existing:
            if other == new:
                continue
            if fold(other) == folded or is_confusable(folded, fold(other)):
                raise Conflict(f"{new!r} looks like {other!r}, which the hub knows already: choose another id",
                               {"id": [f"confusable with the existing id {other!r}"]})
