"""Med-MCI federation: the core.

This is the public surface for plugin authors: import from here only; everything else may move.
"""

from .domain import STAGE_KINDS, Activity, Cluster, Decision, Member, Stage, ValueChain
from .errors import ConfigurationError, FederationError, PluginError, ValidationError
from .hookspecs import hookimpl
from .pilots.teams import Constraints, Participant, Team
from .rules import CodeKeywordRule, FormationRule, SubclusterRule
from .taxonomy import Code, Taxonomy, TaxonomyIndex

__all__ = [
    "STAGE_KINDS",
    "Activity",
    "Cluster",
    "Code",
    "CodeKeywordRule",
    "ConfigurationError",
    "Constraints",
    "Decision",
    "FederationError",
    "FormationRule",
    "Member",
    "Participant",
    "PluginError",
    "Stage",
    "SubclusterRule",
    "Taxonomy",
    "TaxonomyIndex",
    "Team",
    "ValidationError",
    "ValueChain",
    "hookimpl",
]
