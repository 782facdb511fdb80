"""Cross-border matchmaking: ranked partner suggestions between members of clusters in different countries.

The core is pure (no Flask, no database): :mod:`.model` (what is matched and what comes out), :mod:`.scorers` (the
plugin contract of a scorer, hook ``medmci_match_scorers``), :mod:`.engine` (the ranking as sparse products).
"""

from .engine import MatchOptions, refresh, top_k, top_k_for
from .loading import ScorerSet, load_scorers
from .model import MatchMember, Reason, Suggestion
from .scorers import Scorer
from .stages import stages_of

__all__ = ["MatchMember", "MatchOptions", "Reason", "Scorer", "ScorerSet", "Suggestion", "load_scorers", "refresh",
           "stages_of", "top_k", "top_k_for"]
