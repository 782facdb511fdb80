"""Med-MCI federation: the core.

This is the public surface for plugin authors: import from here only; everything else may move.
"""

from .domain import STAGE_KINDS, Activity, Cluster, Decision, Member, Stage, ValueChain
from .errors import ConfigurationError, FederationError, PluginError, ValidationError
from .hookspecs import hookimpl
from .rules import CodeKeywordRule, FormationRule, SubclusterRule
from .taxonomy import Code, Taxonomy, TaxonomyIndex

__all__ = [
    "STAGE_KINDS",
    "Activity",
    "Cluster",
    "Code",
    "CodeKeywordRule",
    "ConfigurationError",
    "Decision",
    "FederationError",
    "FormationRule",
    "Member",
    "PluginError",
    "Stage",
    "SubclusterRule",
    "Taxonomy",
    "TaxonomyIndex",
    "ValidationError",
    "ValueChain",
    "hookimpl",
]
