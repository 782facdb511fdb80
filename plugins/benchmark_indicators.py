"""The built-in benchmark indicators (hook ``medmci_benchmark_indicators``).

Figures a cluster manager can read off the federation's data, in the spirit of the European Cluster Excellence
Initiative's labelling (composition of the membership, the triple helix, activity, international reach): each is a
plain count, share or age, never a score of our own making and never an official label.

- composition: ``members``; shares of SMEs, start-ups and large companies among the members; shares of micro,
  small, medium and large members among those that give a size; ``knowledge_share`` (universities, research and
  technology centres, TTOs);
- triple helix: the shares of industry (SMEs, start-ups, large companies), knowledge, and public bodies, support
  organisations and investors together;
- activity: the share of members marked active and of those marked dormant;
- freshness: days since the hub accepted the cluster's last profile version, and the median days since its members'
  ``last_active``;
- value chains: stages covered by the members' codes (count, and share of the stages of its chains);
- reach: export markets its members name, countries of partners met through matchmaking;
- federation: meta-clusters and pilots joined.
"""

from __future__ import annotations

from federation import ClusterFacts, Indicator, hookimpl

NAME = "benchmark_indicators"

INDUSTRY = frozenset({"sme", "startup", "large_company"})
KNOWLEDGE = frozenset({"university", "research_centre", "technology_centre", "tto"})
PUBLIC_AND_SUPPORT = frozenset({"public_body", "support_organisation", "investor"})


def _count(facts: ClusterFacts) -> float:
    return float(len(facts.members))


def _kind_share(kinds: frozenset[str]):
    return lambda facts: facts.share(lambda m: m.kind in kinds)


def _size_share(size: str):
    return lambda facts: facts.share(lambda m: m.size == size, among=lambda m: m.size is not None)


def _status_share(status: str):
    return lambda facts: facts.share(lambda m: m.status == status)


def _profile_age(facts: ClusterFacts) -> float | None:
    last = facts.last_version_at
    return None if last is None else float(max(0, (facts.today - last.date()).days))


def _member_age(facts: ClusterFacts) -> float | None:
    return facts.median_days_since(m.last_active for m in facts.members)


def _stages(facts: ClusterFacts) -> float:
    return float(sum(len(s) for s in facts.stages_covered.values()))


def _stages_share(facts: ClusterFacts) -> float | None:
    total = sum(len(stages) for stages in facts.chains.values())
    return _stages(facts) / total if total else None


def _markets(facts: ClusterFacts) -> float:
    return float(len({c for m in facts.members for c in m.export_markets if c != facts.country}))


def _pilots(facts: ClusterFacts) -> float | None:
    return None if facts.pilots is None else float(len(facts.pilots))


def _indicator(name: str, en: str, fr: str, ar: str, unit: str, higher: bool | None, compute,
               description: str) -> Indicator:
    return Indicator(name, {"en": en, "fr": fr, "ar": ar}, unit, higher, compute, description)


INDICATORS = (
    _indicator("members", "Members", "Membres", "الأعضاء", "members", None, _count,
               "members the reader may see"),
    _indicator("sme_share", "SMEs", "PME", "المؤسسات الصغيرة والمتوسطة", "share", None,
               _kind_share(frozenset({"sme"})), "share of members that are SMEs"),
    _indicator("startup_share", "Start-ups", "Start-up", "الشركات الناشئة", "share", None,
               _kind_share(frozenset({"startup"})), "share of members that are start-ups"),
    _indicator("large_company_share", "Large companies", "Grandes entreprises", "الشركات الكبرى", "share", None,
               _kind_share(frozenset({"large_company"})), "share of members that are large companies"),
    _indicator("micro_share", "Micro-sized members", "Membres micro", "الأعضاء الصغار جدا", "share", None,
               _size_share("micro"), "share of micro members among those giving a size"),
    _indicator("small_share", "Small members", "Petits membres", "الأعضاء الصغار", "share", None,
               _size_share("small"), "share of small members among those giving a size"),
    _indicator("medium_share", "Medium-sized members", "Membres moyens", "الأعضاء المتوسطون", "share", None,
               _size_share("medium"), "share of medium members among those giving a size"),
    _indicator("large_share", "Large members", "Grands membres", "الأعضاء الكبار", "share", None,
               _size_share("large"), "share of large members among those giving a size"),
    _indicator("knowledge_share", "Knowledge members", "Membres du savoir", "أعضاء المعرفة", "share", True,
               _kind_share(KNOWLEDGE), "share of universities, research and technology centres and TTOs"),
    _indicator("helix_industry", "Triple helix: industry", "Triple hélice : industrie", "الحلزون الثلاثي: الصناعة",
               "share", None, _kind_share(INDUSTRY), "share of SMEs, start-ups and large companies"),
    _indicator("helix_knowledge", "Triple helix: knowledge", "Triple hélice : savoir", "الحلزون الثلاثي: المعرفة",
               "share", None, _kind_share(KNOWLEDGE), "share of knowledge members"),
    _indicator("helix_public_support", "Triple helix: public, support, investors",
               "Triple hélice : public, appui, investisseurs", "الحلزون الثلاثي: القطاع العام والدعم والمستثمرون",
               "share", None, _kind_share(PUBLIC_AND_SUPPORT),
               "share of public bodies, support organisations and investors"),
    _indicator("active_share", "Active members", "Membres actifs", "الأعضاء النشطون", "share", True,
               _status_share("active"), "share of members marked active"),
    _indicator("dormant_share", "Dormant members", "Membres dormants", "الأعضاء الخاملون", "share", False,
               _status_share("dormant"), "share of members marked dormant"),
    _indicator("profile_age_days", "Profile age", "Âge du profil", "عمر الملف", "days", False, _profile_age,
               "days since the hub accepted the cluster's last profile version"),
    _indicator("member_activity_age_days", "Member activity age", "Ancienneté de l'activité des membres",
               "عمر نشاط الأعضاء", "days", False, _member_age, "median days since the members' last activity"),
    _indicator("stages_covered", "Value-chain stages covered", "Étapes couvertes", "مراحل سلسلة القيمة المغطاة",
               "stages", True, _stages, "stages of its value chains its members' codes fall in"),
    _indicator("stages_covered_share", "Share of its chains' stages", "Part des étapes de ses chaînes",
               "نسبة مراحل سلاسلها", "share", True, _stages_share,
               "stages covered over the stages of the value chains it claims or joined"),
    _indicator("export_markets", "Export markets reached", "Marchés d'export", "أسواق التصدير", "countries", True,
               _markets, "countries other than its own that its members export to"),
    _indicator("partner_countries_met", "Countries of partners met", "Pays des partenaires rencontrés",
               "بلدان الشركاء الذين تم لقاؤهم", "countries", True,
               lambda facts: float(len(facts.partner_countries_met)),
               "countries of the partners its members met through matchmaking"),
    _indicator("metaclusters_joined", "Meta-clusters joined", "Méta-clusters rejoints", "التجمعات الكبرى المنضم إليها",
               "meta-clusters", True, lambda facts: float(len(facts.metaclusters)),
               "formed meta-clusters it takes part in"),
    _indicator("pilots_joined", "Pilots joined", "Pilotes rejoints", "المشاريع التجريبية المنضم إليها", "pilots", True,
               _pilots, "pilots it accepted or takes part in (federation readers only)"),
    _indicator("knowledge_entities", "Knowledge entities at home", "Entités du savoir dans le pays",
               "كيانات المعرفة في البلد", "entities", True, lambda facts: float(facts.knowledge_entities),
               "knowledge entities of its country serving its meta-clusters"),
)


@hookimpl
def medmci_benchmark_indicators(settings):
    return list(INDICATORS)
