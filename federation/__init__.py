"""Med-MCI federation: the core.

This is the public surface for plugin authors: import from here only; everything else may move.
"""

from .benchmarking.indicators import ClusterFacts, Indicator, MemberFacts
from .domain import (
    KNOWLEDGE_ENTITY_KINDS,
    RESEARCH_FIELDS_SCHEME,
    STAGE_KINDS,
    Activity,
    Cluster,
    Decision,
    KnowledgeEntity,
    Member,
    Stage,
    ValueChain,
)
from .eligibility import (
    Consortium,
    CountryList,
    CountryLists,
    EligibilityRule,
    FundingCall,
    Gap,
    Partner,
    kind_words,
)
from .errors import ConfigurationError, FederationError, PluginError, ValidationError
from .hookspecs import hookimpl
from .mail import Delivery, MailMessage, MailSender
from .pilots.teams import Constraints, Participant, Team
from .rules import CodeKeywordRule, FormationRule, SubclusterRule
from .science.invitations import InvitationCandidate
from .science.stages import StageLink
from .taxonomy import Code, Taxonomy, TaxonomyIndex

__all__ = [
    "KNOWLEDGE_ENTITY_KINDS",
    "RESEARCH_FIELDS_SCHEME",
    "STAGE_KINDS",
    "Activity",
    "Cluster",
    "ClusterFacts",
    "Code",
    "CodeKeywordRule",
    "ConfigurationError",
    "Consortium",
    "Constraints",
    "CountryList",
    "CountryLists",
    "Decision",
    "Delivery",
    "EligibilityRule",
    "FederationError",
    "FormationRule",
    "FundingCall",
    "Gap",
    "Indicator",
    "InvitationCandidate",
    "KnowledgeEntity",
    "MailMessage",
    "MailSender",
    "Member",
    "MemberFacts",
    "Participant",
    "Partner",
    "PluginError",
    "Stage",
    "StageLink",
    "SubclusterRule",
    "Taxonomy",
    "TaxonomyIndex",
    "Team",
    "ValidationError",
    "ValueChain",
    "hookimpl",
    "kind_words",
]
