"""Does the published profile approach the size hubs accept? A warning before a hub refuses it.

A hub refuses a profile whose decompressed bytes exceed its ``harvest.max_decompressed_bytes`` (64 MB by default),
or whose bytes received exceed ``harvest.max_bytes`` (20 MB): the node serves it gzip-compressed, about a tenth of
its size, so the decompressed cap is the one a big cluster meets first. The node does not learn the caps of the hubs
it trusts: it warns from its own ``node.profile_warn_bytes`` (by default 80 % of the hubs' default decompressed cap),
which an operator sets to a fraction of the cap of the hub they publish to when that hub's differs.

Findings have the shape every ``node check`` finding has: severity, kind, message, member_id, suggestion;
``profile_size()`` in federation/node/checks.py makes this one of the node's checks (``node check``,
``GET /api/v1/check``, and an import report's ``checks``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..settings import packaged_settings

KIND = "profile-size"
SETTING = "node.profile_warn_bytes"


def profile_size_findings(sizes: Mapping[str, int], warn_bytes: int | None) -> list[dict]:
    """A warning when the largest published document (``sizes``: bytes per audience) reaches ``warn_bytes``; none
    below it, nor when ``warn_bytes`` is None or 0 (warning turned off)."""
    if not warn_bytes or not sizes:
        return []
    audience, size = max(sizes.items(), key=lambda item: (item[1], item[0]))
    if size < warn_bytes:
        return []
    hub_default = int(packaged_settings().get("harvest.max_decompressed_bytes"))
    message = (f"the profile this node publishes ({audience} audience) is {size:,} bytes, at or over the warning "
               f"threshold of {warn_bytes:,} bytes ({SETTING}); a hub refuses a profile over its size cap "
               f"(harvest.max_decompressed_bytes: {hub_default:,} bytes unless the hub's operator changed it)")
    suggestion = ("shorten long member texts (offers, needs, descriptions), publish fewer members to the federation "
                  "audience, or ask the hub's operator to raise harvest.max_decompressed_bytes; then set "
                  f"{SETTING} to about 80 % of that hub's cap")
    return [{"severity": "warning", "kind": KIND, "message": message, "member_id": None, "suggestion": suggestion}]


def check_profile_size(context) -> list[dict]:
    """The size finding of anything with the node's ``service`` (a ``CheckContext`` of federation/node/checks.py,
    where ``node check`` runs it, or a built ``Node``)."""
    return context.service.size_findings()
