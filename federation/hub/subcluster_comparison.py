"""The hub's sub-clustering comparisons: a stored meta-cluster's members, as its reader may see them, placed by two
rule sets (:mod:`federation.subclustering.compare`). Nothing is stored, and formation never sees the rule sets."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import BadRequest, NotFound, ValidationError
from ..registry import Registry
from ..subclustering.compare import compare
from ..subclustering.rule_sets import ALTERNATIVE_NAME, INSTALLED, RuleSet, RuleSets
from .aggregation import Aggregator
from .queries import HubQueries


class SubclusterComparisons:
    def __init__(self, queries: HubQueries, aggregator: Aggregator, registry: Registry):
        self.queries = queries
        self.aggregator = aggregator
        self.registry = registry
        self.rule_sets = RuleSets(registry)
        self.max_members = int(registry.settings.get("subclusters.max_members"))
        self.max_movers = int(registry.settings.get("subclusters.max_movers"))

    def by_specs(self, metacluster_id: str, specs: Sequence[str], federation: bool = True) -> dict:
        """The CLI's comparison: each spec a rule set's name or a rule file's path."""
        return self.compare(metacluster_id, federation,
                            lambda chain_id: [self.rule_sets.resolve(chain_id, s) for s in _two(specs)])

    def by_names(self, metacluster_id: str, names: Sequence[str], federation: bool) -> dict:
        """GET's comparison: named rule sets only (a name never reaches a file outside the alternatives)."""
        return self.compare(metacluster_id, federation,
                            lambda chain_id: [self.rule_sets.named(chain_id, n) for n in _two(names)])

    def by_documents(self, metacluster_id: str, items: Sequence[object], federation: bool) -> dict:
        """POST's comparison: each item a rule set's name, its YAML text, or its document (a JSON object)."""
        return self.compare(metacluster_id, federation,
                            lambda chain_id: [self._posted(chain_id, item, f"rules[{position}]")
                                              for position, item in enumerate(_two(items))])

    def _posted(self, chain_id: str, item: object, where: str) -> RuleSet:
        if isinstance(item, str) and (item == INSTALLED or ALTERNATIVE_NAME.fullmatch(item)):
            return self.rule_sets.named(chain_id, item)
        if isinstance(item, str):
            return self.rule_sets.from_text(chain_id, item, where, where)
        return self.rule_sets.from_document(chain_id, item, where, where)

    def compare(self, metacluster_id: str, federation: bool,
                rule_sets_for: Callable[[str], list[RuleSet]]) -> dict:
        """Two rule sets (``rule_sets_for(chain id)``) on a meta-cluster's members and knowledge members as the
        reader may see them: an anonymous reader's comparison counts public members only."""
        document = self.queries.metacluster(metacluster_id, federation)
        chain = self.registry.value_chains.get(document["value_chain"])
        if chain is None:
            raise NotFound(f"value chain {document['value_chain']!r} is no longer loaded at this hub")
        wanted = {m["id"] for m in document["members"]}
        knowledge_wanted = {k["id"] for k in document["knowledge_members"]}
        if len(wanted) + len(knowledge_wanted) > self.max_members:
            raise ValidationError(f"{document['id']} has {len(wanted) + len(knowledge_wanted)} members, over "
                                  f"subclusters.max_members ({self.max_members}) for one comparison")
        a, b = rule_sets_for(chain.id)
        nodes = {c["node_id"] for c in document["clusters"]}
        with self.aggregator.db.session() as session:
            clusters = self.aggregator.load_clusters(session)
        # Members as their nodes' current versions say (an anonymous reader's: still public ones only).
        held = [m for c in clusters if c.node_id in nodes for m in c.members
                if federation or m.audience == "public"]
        result = compare(chain, [m for m in held if m.key in wanted], [m for m in held if m.key in knowledge_wanted],
                         a, b, self.registry, self.max_movers)
        return {"metacluster_id": document["id"], "audience": "federation" if federation else "public",
                "formed": document["formed"], **result}


def _two(items: Sequence) -> Sequence:
    if len(items) != 2:
        raise BadRequest(f"rules: give exactly two rule sets to compare, not {len(items)}")
    return items
