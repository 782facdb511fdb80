"""The demo's data files (config/demo/), read with the project's own schemas, importer and command line: a broken
demo file fails here, not in front of an audience. And what config/demo/README.md says of them: the ROR ids shared
by one organisation, the invented ones that can name no real organisation, the gaps of the agri-food meta-cluster
the two knowledge entities fill."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from marshmallow import Schema

from federation.cli import main
from federation.domain import KNOWLEDGE_ENTITY_KINDS, Activity, KnowledgeEntity
from federation.node.app import create_node_app
from federation.node.schemas import NodeCooperationSchema
from federation.profile.field_types import ROR_PATTERN
from federation.profile.knowledge import KnowledgeSchema
from federation.profile.reader import knowledge_code_errors
from federation.profile.schema import ClusterSchema
from federation.science.representation import representation
from federation.settings import read_yaml

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo"
SPEC = read_yaml(DEMO / "federation.yaml")
CLUSTERS = {entry["node"]: DEMO / entry["path"] for entry in SPEC["clusters"]}
NODES = {entry["node"]: DEMO / entry["path"] for entry in SPEC["knowledge"] if "node" in entry}
HOSTED = {entry["hosted"]: DEMO / entry["path"] for entry in SPEC["knowledge"] if "hosted" in entry}
BVU_ROR = "0b7vq2x00"
IDENTITY_FIELDS = ("id", "names", "country", "website", "value_chains", "description")


def rows(node: str) -> list[dict]:
    with open(CLUSTERS[node] / "members.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def split_hosted(path: Path) -> tuple[dict, dict]:
    """hosted.yaml as (identity, knowledge block), each loaded by its schema; the request the demo makes of it is
    what the hub's POST /api/v1/knowledge/hosted takes (any other key is refused)."""
    from federation.demo_story import load_hosted
    from federation.hub.knowledge_schemas import HostedCreateSchema

    request = load_hosted(path)
    HostedCreateSchema().load(request)
    identity = {k: v for k, v in request.items() if k in IDENTITY_FIELDS}
    return ClusterSchema().load(identity), KnowledgeSchema().load(request["knowledge"])


def test_the_demo_lists_both_kinds_of_knowledge_entity():
    assert sorted(NODES) == ["bvu"] and sorted(HOSTED) == ["agrotransfer-segura"]


@pytest.mark.parametrize("node", sorted(CLUSTERS))
def test_every_cluster_file_loads_with_its_cooperation_profile(node, registry):
    cluster = ClusterSchema().load(read_yaml(CLUSTERS[node] / "cluster.yaml"))
    assert cluster["id"] == node and set(cluster["value_chains"]) <= set(registry.value_chains)
    cooperation = cluster["cooperation"]
    assert cooperation["priority_topics"] and cooperation["partners_sought"] and cooperation["target_markets"]
    # What `medmci node cooperation set` (and `node set-cluster`) take of it: no opportunities, the node derives them.
    assert NodeCooperationSchema().load(read_yaml(CLUSTERS[node] / "cluster.yaml")["cooperation"]) == \
        {k: v for k, v in cooperation.items() if k != "opportunities"}


def test_every_members_file_imports_whole_through_the_node_importer(make_node):
    service = make_node("demo-data").extensions["medmci"].service
    for node in CLUSTERS:
        service.put_cluster(ClusterSchema().load(read_yaml(CLUSTERS[node] / "cluster.yaml")))
        report = service.import_members((CLUSTERS[node] / "members.csv").read_bytes(), replace=True)
        expected = rows(node)
        assert (report["rows"], report["created"] + report["updated"] + report["unchanged"]) == \
            (len(expected), len(expected)), node
        stored = {m["id"]: m for m in service.list_members()}
        assert sorted(stored) == sorted(r["id"] for r in expected), node
        for row in expected:
            member = stored[row["id"]]
            domains = [d for d in row["research_domains"].split(";") if d]
            assert member["research_domains"] == domains, row["id"]
            assert (member["identifiers"] or {}).get("ror") == (row["ror"] or None), row["id"]
            assert member["website"] == (row["website"] or None), row["id"]
            # Research domains for knowledge members, every one of them; nobody else.
            assert bool(domains) == (row["kind"] in KNOWLEDGE_ENTITY_KINDS), row["id"]


def test_invented_ror_ids_cannot_name_a_real_organisation_and_one_organisation_shares_one():
    found = {}
    for node in CLUSTERS:
        for row in rows(node):
            if row["ror"]:
                found.setdefault(row["ror"], []).append(row["id"])
    identifiers = read_yaml(NODES["bvu"] / "knowledge.yaml")["identifiers"]
    assert found and all(re.match(ROR_PATTERN, ror) for ror in found)
    # ROR's checksum is 98 - (100 n mod 97): from 02 to 98, never 00.
    assert all(ror.endswith("00") for ror in [*found, identifiers["ror"]])
    assert identifiers["ror"] == BVU_ROR and found[BVU_ROR] == ["qoot-m045", "lv-food-m061"]
    assert all(len(ids) == 1 for ror, ids in found.items() if ror != BVU_ROR)


def test_the_knowledge_node_files_are_what_the_command_line_takes(runner, tmp_path):
    instance, folder = tmp_path / "bvu", NODES["bvu"]
    for args in (["init", "--knowledge"], ["set-cluster", folder / "cluster.yaml"],
                 ["knowledge", "set", folder / "knowledge.yaml"]):
        result = runner.invoke(main, ["node", "--instance", str(instance), *map(str, args)])
        assert result.exit_code == 0, result.output
    assert "knowledge block saved (university); not public: contact.person, contact.phone" in result.output
    written = read_yaml(folder / "knowledge.yaml")
    app = create_node_app(instance)
    try:
        service = app.extensions["medmci"].service
        public = json.loads(service.publication("public").body)
        federation = json.loads(service.publication("federation").body)
    finally:
        app.extensions["medmci"].db.dispose()
    assert public["cluster"]["id"] == "bvu" and public["members"] == []
    assert public["knowledge"]["identifiers"] == written["identifiers"]
    assert public["knowledge"]["research_domains"] == written["research_domains"]
    assert [u["id"] for u in public["knowledge"]["units"]] == [u["id"] for u in written["units"]]
    assert public["knowledge"]["contact"] == {"email": written["contact"]["email"]}
    assert federation["knowledge"]["contact"] == written["contact"]


def test_the_hosted_profile_is_an_identity_and_a_knowledge_block(registry):
    path = HOSTED["agrotransfer-segura"] / "hosted.yaml"
    identity, block = split_hosted(path)
    assert identity["id"] == "agrotransfer-segura" and block["kind"] == "tto"
    assert knowledge_code_errors(block, registry.taxonomies, registry.value_chains) == {}
    assert set(identity["value_chains"]) <= set(registry.value_chains)


def test_the_node_block_has_known_codes(registry):
    block = read_yaml(NODES["bvu"] / "knowledge.yaml")
    block.pop("visibility")
    assert knowledge_code_errors(KnowledgeSchema().load(block), registry.taxonomies, registry.value_chains) == {}


# -- the gaps of the agri-food meta-cluster (config/demo/README.md, "Knowledge entities") ------------------------

def member_entities() -> tuple[list[KnowledgeEntity], list[dict], list[dict]]:
    """The knowledge members of every cluster as entities, the knowledge-member entries of the clusters claiming
    agri-food, and their other members; private members never leave their node."""
    entities, entries, members = [], [], []
    for node in CLUSTERS:
        cluster = read_yaml(CLUSTERS[node] / "cluster.yaml")
        claims = "agri-food" in cluster["value_chains"]
        for row in rows(node):
            if row["visibility"] == "private":
                continue
            if row["kind"] not in KNOWLEDGE_ENTITY_KINDS:
                if claims:
                    members.append({"country": cluster["country"], "kind": row["kind"], "node_id": node})
                continue
            entity = KnowledgeEntity(
                key=f"{node}/{row['id']}", source="member", name=row["name"], kind=row["kind"],
                country=cluster["country"], city=row["city"], website=row["website"] or None,
                identifiers={"ror": row["ror"]} if row["ror"] else {},
                research_domains=tuple(d for d in row["research_domains"].split(";") if d),
                activities=tuple(Activity(*code.split(":", 1)) for code in row["activities"].split(";") if code),
                cluster_node_id=node)
            entities.append(entity)
            if claims:
                entries.append({"id": entity.key, "name": entity.name, "kind": entity.kind,
                                "country": entity.country, "node_id": node})
    return entities, entries, members


def joined_entity(key: str, source: str, identity: dict, block: dict) -> KnowledgeEntity:
    domains = [*block["research_domains"], *(d for unit in block["units"] for d in unit["research_domains"])]
    serves: dict[str, tuple[str, ...]] = dict.fromkeys(identity["value_chains"], ())
    serves.update({served["value_chain"]: tuple(served["stages"]) for served in block["serves"]})
    return KnowledgeEntity(key=key, source=source, name=identity["names"]["en"], kind=block["kind"],
                           country=identity["country"], city=block["city"], website=identity.get("website"),
                           identifiers={k: v for k, v in (block["identifiers"] or {}).items() if v},
                           research_domains=tuple(dict.fromkeys(domains)),
                           activities=tuple(Activity(a["scheme"], a["code"]) for a in block["activities"]),
                           serves=serves)


def unsupported(registry, extra: list[KnowledgeEntity]) -> set[tuple[str, str]]:
    entities, entries, members = member_entities()
    document = {"countries": ["ES", "LB", "LV", "MA"], "members": members, "knowledge_members": entries,
                "clusters": []}
    figures = representation(document, [*entities, *extra], registry.value_chains["agri-food"], registry.taxonomies)
    return {(pair["stage"], pair["country"]) for pair in figures["unsupported"]}


def knowledge_entities() -> tuple[KnowledgeEntity, KnowledgeEntity]:
    node_block = read_yaml(NODES["bvu"] / "knowledge.yaml")
    node_block.pop("visibility")
    node = joined_entity("bvu", "node", ClusterSchema().load(read_yaml(NODES["bvu"] / "cluster.yaml")),
                         KnowledgeSchema().load(node_block))
    hosted = joined_entity("hosted:agrotransfer-segura", "hosted",
                           *split_hosted(HOSTED["agrotransfer-segura"] / "hosted.yaml"))
    return node, hosted


def test_the_two_knowledge_entities_fill_the_gaps_the_readme_names(registry):
    node, hosted = knowledge_entities()
    before = unsupported(registry, [])
    assert before == {("inputs", "ES"), ("production", "ES"), ("packaging", "MA"), ("market", "ES"),
                      ("market", "LB"), ("market", "LV"), ("market", "MA")}
    assert before - unsupported(registry, [node]) == {("market", "LB"), ("market", "LV")}
    assert before - unsupported(registry, [hosted]) == {("inputs", "ES"), ("production", "ES"), ("market", "ES")}
    assert unsupported(registry, [node, hosted]) == {("packaging", "MA"), ("market", "MA")}


def schema_names(schema: Schema) -> set[str]:
    return set(schema.fields)


def test_hosted_identity_fields_are_the_cluster_schemas():
    assert set(IDENTITY_FIELDS) <= schema_names(ClusterSchema())
    assert not set(IDENTITY_FIELDS) & schema_names(KnowledgeSchema())


def test_the_readme_quickstart_sets_a_demo_cluster_with_its_cooperation_profile(runner, tmp_path):
    """README: `medmci node set-cluster config/demo/qoot/cluster.yaml`, then `import-members` of its members.csv."""
    instance = str(tmp_path / "qoot")
    folder = CLUSTERS["qoot"]
    for args in (["set-cluster", folder / "cluster.yaml"], ["import-members", folder / "members.csv"]):
        result = runner.invoke(main, ["node", "--instance", instance, *map(str, args)])
        assert result.exit_code == 0, result.output
    shown = runner.invoke(main, ["node", "--instance", instance, "cooperation", "show"])
    cooperation = json.loads(shown.output)
    assert cooperation["priority_topics"] == ["internationalisation", "export", "financing", "research_development"]
    assert cooperation["opportunities"]["offers"]  # derived from the imported members' offers
