"""Realistic data for the science core's tests: a Lebanese and a Tunisian agri-food cluster, Tunisian and Moroccan
textile clusters, and the universities, research centres and technology centres around them (invented members;
the knowledge organisations are real names, their figures invented)."""

from __future__ import annotations

from federation.domain import Activity, Cluster, KnowledgeEntity, Member
from federation.formation import assess_value_chain
from federation.registry import Registry


def nace(*codes: str) -> tuple[Activity, ...]:
    return tuple(Activity("nace-rev2", code) for code in codes)


def member(node: str, member_id: str, kind: str, name: str, country: str, *codes: str,
           city: str | None = None) -> Member:
    return Member(node, member_id, kind, name, country, nace(*codes), text=name.lower(), city=city)


def agri_food_clusters() -> list[Cluster]:
    """LB: olive-oil mills, a grower, a dairy startup, a consultancy and the American University of Beirut (its
    faculty of agriculture, tertiary education); TN: mills, a grower, a dairy, a consultancy and a public testing
    laboratory, no knowledge member."""
    lb = (member("lb-agri", "m1", "sme", "Zejd Olive Mill", "LB", "10.41", city="Hasbaya"),
          member("lb-agri", "m2", "sme", "Batroun Press", "LB", "10.41", city="Batroun"),
          member("lb-agri", "m3", "sme", "Koura Groves", "LB", "01.26", city="Koura"),
          member("lb-agri", "m4", "startup", "Labneh Lab", "LB", "10.51", city="Beirut"),
          member("lb-agri", "m5", "support_organisation", "Agri Advisory", "LB", "70.22", city="Beirut"),
          member("lb-agri", "aub", "university", "American University of Beirut", "LB", "85.42", city="Beirut"))
    tn = (member("tn-agri", "t1", "sme", "Huilerie de Sfax", "TN", "10.41", city="Sfax"),
          member("tn-agri", "t2", "sme", "Oliveraies du Sahel", "TN", "01.26", city="Sousse"),
          member("tn-agri", "t3", "large_company", "Laiterie du Cap Bon", "TN", "10.51", city="Nabeul"),
          member("tn-agri", "t4", "sme", "Moulin Zitouna", "TN", "10.41", city="Sfax"),
          member("tn-agri", "t5", "support_organisation", "Conseil Agro", "TN", "70.22", city="Tunis"),
          member("tn-agri", "t6", "public_body", "Laboratoire Central d'Analyses", "TN", "71.20", city="Tunis"))
    return [Cluster("lb-agri", "qoot", "QOOT", "LB", ("agri-food",), lb),
            Cluster("tn-agri", "olive-tn", "Olive Cluster Tunisia", "TN", ("agri-food",), tn)]


def agri_food_document(registry: Registry) -> dict:
    return assess_value_chain(registry.value_chains["agri-food"], agri_food_clusters(), registry)


def aub_member() -> KnowledgeEntity:
    """AUB as QOOT lists it (a 1.3 member with research domains and identifiers)."""
    return KnowledgeEntity("lb-agri/aub", "member", "American University of Beirut", "university", "LB",
                           city="Beirut", website="https://www.aub.edu.lb/", identifiers={"ror": "04pznsd21"},
                           research_domains=("4.1", "2.11"), activities=nace("85.42"),
                           cluster_node_id="lb-agri")


def aub_node() -> KnowledgeEntity:
    """AUB's own knowledge node: more domains, serving agri-food."""
    return KnowledgeEntity("aub", "node", "American University of Beirut", "university", "LB", city="Beirut",
                           website="http://aub.edu.lb", identifiers={"ror": "https://ror.org/04PZNSD21"},
                           research_domains=("4.1", "4.4", "2.11", "3.3"), services=("testing", "training"),
                           serves={"agri-food": ()})


def inrap() -> KnowledgeEntity:
    """A Tunisian research centre in chemistry and biotechnology, serving no chain yet."""
    return KnowledgeEntity("inrap", "node", "Institut National de Recherche et d'Analyse Physico-chimique",
                           "research_centre", "TN", city="Sidi Thabet", identifiers={"national_id": "0123456 A"},
                           research_domains=("1.4", "2.4", "2.9"))


def packtec() -> KnowledgeEntity:
    """The Tunisian packaging technical centre, hosted by the hub."""
    return KnowledgeEntity("hosted:packtec", "hosted", "Centre Technique de l'Emballage et du Conditionnement",
                           "technology_centre", "TN", city="Tunis", website="https://www.packtec-tunisie.com",
                           research_domains=("2.5",), services=("testing", "training", "consulting"))


def ensi() -> KnowledgeEntity:
    """A computer-science school: nothing for agri-food."""
    return KnowledgeEntity("hosted:ensi", "hosted", "École Nationale des Sciences de l'Informatique", "university",
                           "TN", city="Manouba", research_domains=("1.2",))


def unibo() -> KnowledgeEntity:
    """An Italian university with packaging research, outside the meta-cluster's countries."""
    return KnowledgeEntity("unibo", "node", "Università di Bologna", "university", "IT", city="Bologna",
                           research_domains=("2.5", "4.1"), identifiers={"ror": "01111rn36"})


def agri_food_entities() -> list[KnowledgeEntity]:
    return [aub_member(), aub_node(), inrap(), packtec(), ensi(), unibo()]


def textile_clusters() -> list[Cluster]:
    """Monastir (TN) weavers, finishers and garment makers with CETTEX, the textile technical centre, as a member;
    Casablanca (MA) garment makers, no knowledge member."""
    tn = (member("tn-tex", "w1", "sme", "Tissage du Sahel", "TN", "13.20", city="Monastir"),
          member("tn-tex", "w2", "sme", "Finissage Ksar Hellal", "TN", "13.30", city="Ksar Hellal"),
          member("tn-tex", "w3", "large_company", "Confection Mahdia", "TN", "14.13", city="Mahdia"),
          member("tn-tex", "w4", "startup", "Denim Lab", "TN", "14.13", city="Monastir"),
          member("tn-tex", "cettex", "technology_centre", "CETTEX", "TN", "71.20", city="Ben Arous"))
    ma = (member("ma-tex", "c1", "sme", "Casa Couture", "MA", "14.13", city="Casablanca"),
          member("ma-tex", "c2", "sme", "Atlas Tissage", "MA", "13.20", city="Casablanca"),
          member("ma-tex", "c3", "sme", "Fès Finishing", "MA", "13.30", city="Fès"),
          member("ma-tex", "c4", "investor", "Maroc Mode Invest", "MA", "14.13", city="Casablanca"))
    return [Cluster("tn-tex", "monastir-textile", "Monastir Textile Cluster", "TN", ("textile-apparel",), tn),
            Cluster("ma-tex", "casa-textile", "Casablanca Textile Cluster", "MA", ("textile-apparel",), ma)]


def cettex_member() -> KnowledgeEntity:
    return KnowledgeEntity("tn-tex/cettex", "member", "CETTEX", "technology_centre", "TN", city="Ben Arous",
                           website="http://www.cettex.com.tn/", activities=nace("71.20"),
                           cluster_node_id="tn-tex")


def cettex_hosted() -> KnowledgeEntity:
    return KnowledgeEntity("hosted:cettex", "hosted", "Centre Technique du Textile", "technology_centre", "TN",
                           city="Ben Arous", website="https://cettex.com.tn", research_domains=("2.5", "2.4"),
                           services=("testing", "training"))


def enim() -> KnowledgeEntity:
    return KnowledgeEntity("enim", "node", "École Nationale d'Ingénieurs de Monastir", "university", "TN",
                           city="Monastir", research_domains=("2.5", "2.3"), serves={})


def esith() -> KnowledgeEntity:
    """Casablanca's textile and clothing engineering school, claiming the apparel stage."""
    return KnowledgeEntity("hosted:esith", "hosted", "École Supérieure des Industries du Textile et de l'Habillement",
                           "university", "MA", city="Casablanca", research_domains=("2.5", "6.4"),
                           services=("training",), serves={"textile-apparel": ("apparel",)})
