"""Incremental formation gives what a formation from scratch gives.

Two hubs receive the same sequence of node versions through the harvester's storage path. Hub A forms the way a
harvest does (only the chains a version touches, incrementally: per-cluster parts cached by version, only the
changed nodes' rows rewritten); hub B forms every chain from scratch after each step with a new aggregator. After
every step their stored results (documents, public views, placements, "why" answers) must be equal, and equal to
the in-memory formation over the same clusters.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from sqlalchemy import select

from federation.formation import assess_value_chain, metacluster_id
from federation.hub.aggregation import Aggregator
from federation.hub.harvest import NEW_VERSION, Fetched, Verified
from federation.hub.models import HarvestRun, NodeRecord, PlacementRow
from federation.profile import read_profile
from tests.support.builders import cluster_doc, member_doc

AGRI = ("nace-rev2:11.02", "nace-rev2:10.82", "nace-rev2:10.41")
TEXTILE = ("nace-rev2:13.96", "nace-rev2:14.13", "nace-rev2:15.12")
PACKAGING = "nace-rev2:17.21"  # an enabling stage: on a chain only for a cluster that claims it
COUNTRY = {"qoot": "LB", "menara": "MA", "tex": "TN", "olive": "ES"}


class Federation:
    """What every node publishes now; ``publish`` stores a new version of one node in both hubs."""

    def __init__(self, incremental, scratch):
        self.hubs = (incremental, scratch)
        self.sequence = {}
        for hub in self.hubs:
            with hub.db.session() as session:
                for node_id, country in COUNTRY.items():
                    session.add(NodeRecord(id=node_id, url=f"http://127.0.0.1:1/{node_id}", status="active",
                                           registered_at=datetime.now(timezone.utc), consecutive_failures=0,
                                           cluster_id=node_id, country=country))
                run = HarvestRun(started_at=datetime.now(timezone.utc), counts={}, status="finished")
                session.add(run)
                session.flush()
                hub.run_id = run.id
        self.scratch_aggregator = None

    def publish(self, node_id: str, members: list[dict], value_chains=("agri-food",)) -> None:
        self.sequence[node_id] = self.sequence.get(node_id, 0) + 1
        document = {"schema": "med-mci/profile", "version": "1.1", "sequence": self.sequence[node_id],
                    "published_at": "2026-11-25T10:00:00+00:00",
                    "cluster": cluster_doc(node_id, COUNTRY[node_id], value_chains), "members": members}
        body = json.dumps(document).encode()
        incremental, scratch = self.hubs
        for hub in self.hubs:
            profile = read_profile(body, hub.registry.taxonomies, hub.registry.value_chains)
            fetched = Fetched(node_id, NEW_VERSION, datetime.now(timezone.utc), http_status=200,
                              sha256=hashlib.sha256(body).hexdigest(), version=Verified(body, profile))
            outcome = hub.harvester.store(hub.run_id, fetched)  # the outcome as stored
            touched = outcome.chains
            assert outcome.outcome == NEW_VERSION, outcome.reason
            if hub is incremental:  # what a harvest does
                if not hub.harvester.aggregator.has_results():
                    hub.harvester.aggregator.run()
                elif touched:
                    hub.harvester.aggregator.run(touched)
        # From scratch: a new aggregator (empty caches), every chain's stored results dropped first.
        Aggregator(scratch.db, scratch.registry).run(rebuild=True)


def state(hub) -> dict:
    """Everything a reader can get about the meta-clusters, plus the placement rows themselves."""
    queries = hub.queries
    with hub.db.session() as session:
        placements = sorted((p.metacluster_id, p.node_id, p.subject, p.member_id or "", p.included,
                             p.sub_cluster or "", json.dumps(p.reasons, sort_keys=True))
                            for p in session.scalars(select(PlacementRow)))
    return {"documents": queries.metaclusters(formed=None),
            "public": queries.metaclusters(formed=None, federation=False),
            "export": queries.export(),
            "placements": placements,
            "why": {node_id: queries.why(node_id) for node_id in COUNTRY if _has_cluster(hub, node_id)}}


def _has_cluster(hub, node_id: str) -> bool:
    return any(c["node_id"] == node_id for c in hub.queries.clusters())


def check(federation: Federation) -> dict:
    incremental, scratch = federation.hubs
    expected = state(scratch)
    assert state(incremental) == expected
    # and both equal the in-memory formation over the clusters the hub holds
    with scratch.db.session() as session:
        clusters = Aggregator(scratch.db, scratch.registry).load_clusters(session)
    for chain_id, chain in sorted(scratch.registry.value_chains.items()):
        assert scratch.queries.metacluster(metacluster_id(chain_id)) == \
            assess_value_chain(chain, clusters, scratch.registry)
    # the clusters formation kept from what the harvester stored are those it would read back from the database
    with incremental.db.session() as session:
        read_back = Aggregator(incremental.db, incremental.registry).load_clusters(session)
        kept = incremental.harvester.aggregator.load_clusters(session)
    assert sorted(kept, key=lambda c: c.node_id) == sorted(read_back, key=lambda c: c.node_id)
    return {d["value_chain"]: d for d in expected["documents"]}


def agri(prefix: str, count: int, **extra) -> list[dict]:
    return [member_doc(f"{prefix}-a{i}", AGRI[i % len(AGRI)], **extra) for i in range(count)]


def textile(prefix: str, count: int) -> list[dict]:
    return [member_doc(f"{prefix}-t{i}", TEXTILE[i % len(TEXTILE)]) for i in range(count)]


def test_incremental_formation_equals_formation_from_scratch(make_hub):
    federation = Federation(make_hub("incremental"), make_hub("scratch"))
    university = member_doc("qoot-u", "nace-rev2:85.42", kind="university", name="Olive Research University")
    qoot = agri("qoot", 4) + [member_doc("qoot-x", TEXTILE[0]), university,
                              member_doc("qoot-f", AGRI[0], audience="federation")]
    menara = agri("menara", 4) + textile("menara", 3) + [member_doc("menara-p", PACKAGING)]
    federation.publish("qoot", qoot)
    federation.publish("menara", menara, ("agri-food", "textile-apparel"))
    federation.publish("tex", textile("tex", 3), ("textile-apparel",))
    federation.publish("olive", agri("olive", 3))
    formed = check(federation)
    assert formed["agri-food"]["formed"] and formed["agri-food"]["countries"] == ["ES", "LB", "MA"]
    assert formed["textile-apparel"]["formed"] and formed["textile-apparel"]["countries"] == ["MA", "TN"]

    # a member added
    qoot.append(member_doc("qoot-new", AGRI[1], name="New Dates Packer"))
    federation.publish("qoot", qoot)
    assert "qoot/qoot-new" in {m["id"] for m in check(federation)["agri-food"]["members"]}

    # a member removed
    menara = [m for m in menara if m["id"] != "menara-a3"]
    federation.publish("menara", menara, ("agri-food", "textile-apparel"))
    assert "menara/menara-a3" not in {m["id"] for m in check(federation)["agri-food"]["members"]}

    # a member moved to another chain
    qoot = [member_doc("qoot-a0", TEXTILE[1]) if m["id"] == "qoot-a0" else m for m in qoot]
    federation.publish("qoot", qoot)
    documents = check(federation)
    assert "qoot/qoot-a0" not in {m["id"] for m in documents["agri-food"]["members"]}

    # a cluster un-claims a chain: its enabling-stage member is no longer on it
    federation.publish("menara", menara, ("agri-food",))
    documents = check(federation)
    assert "menara/menara-p" not in {m["id"] for m in documents["textile-apparel"]["members"]}

    # a node drops below the minimum of chain members: excluded, with the reason
    federation.publish("olive", agri("olive", 2))
    documents = check(federation)
    assert "ES" not in documents["agri-food"]["countries"]
    assert [c["id"] for c in documents["agri-food"]["excluded_clusters"]] == ["olive"]

    # a country leaves the textile chain: the meta-cluster no longer forms, every row says so
    federation.publish("tex", agri("tex", 1), ())
    documents = check(federation)
    assert documents["textile-apparel"]["formed"] is False
    with federation.hubs[0].db.session() as session:
        assert not any(session.scalars(select(PlacementRow.included).where(
            PlacementRow.metacluster_id == "mc-textile-apparel")))

    # ... and comes back: it forms again
    federation.publish("tex", textile("tex", 4), ("textile-apparel",))
    assert check(federation)["textile-apparel"]["formed"] is True

    # a node whose version leaves every chain, then back: nothing of it stays behind
    federation.publish("olive", [member_doc("olive-s", "nace-rev2:62.01")], ())
    check(federation)
    federation.publish("olive", agri("olive", 3))
    assert "ES" in check(federation)["agri-food"]["countries"]


def test_a_document_formed_before_parts_were_stored_is_read_whole_then_replaced(make_hub):
    """A hub upgraded to revision 0005 keeps its documents (member lists inside): read as they are until the next
    formation of their chain replaces them, with their placements."""
    federation = Federation(make_hub("incremental"), make_hub("scratch"))
    federation.publish("qoot", agri("qoot", 3))
    federation.publish("menara", agri("menara", 3))
    incremental = federation.hubs[0]
    expected = check(federation)["agri-food"]
    from federation.hub.models import MetaClusterPart
    from federation.hub.models import MetaClusterRow
    with incremental.db.session() as session:  # as revision 0004 left it: the whole assessment, no parts
        session.get(MetaClusterRow, "mc-agri-food").document = expected
        session.execute(MetaClusterPart.__table__.delete())
    assert incremental.queries.metacluster("mc-agri-food") == expected
    federation.publish("olive", agri("olive", 3))  # touches agri-food: formed again, the old document replaced
    documents = check(federation)
    assert "ES" in documents["agri-food"]["countries"]
    with incremental.db.session() as session:
        assert "members" not in session.get(MetaClusterRow, "mc-agri-food").document


def test_a_hub_restarted_under_other_rules_forms_every_chain_again_at_its_next_harvest(make_node, make_hub, serve,
                                                                                        registry, tmp_path):
    """Rules changed between two runs of the hub (here formation.min_chain_members 3 -> 5) and no node changed:
    the next harvest still forms every chain again, whole, as a formation from scratch under the new rules would."""
    from federation.hub.app import Hub
    from federation.hub.models import MetaClusterRow
    from federation.registry import Registry
    from federation.settings import Settings, deep_merge
    from tests.support.environment import TEST_SETTINGS
    from tests.support.nodes import real_node

    hub = make_hub("hub")
    for node_id, members in (("qoot", 6), ("menara", 4), ("olive", 6)):
        _app, url = real_node(make_node, serve, node_id, COUNTRY[node_id], members)
        hub.nodes.register(node_id, url)
    assert hub.harvester.harvest()["counts"]["new_version"] == 3
    before = hub.queries.metacluster("mc-agri-food")
    assert sorted(c["id"] for c in before["clusters"]) == ["menara", "olive", "qoot"]

    stricter = deep_merge({"database_url": hub.settings.database_url, **TEST_SETTINGS},
                          {"plugins": {"formation": {"min_chain_members": 5}}})
    new_registry = Registry.build(Settings.load(tmp_path / "rules", stricter))
    assert new_registry.fingerprint != hub.registry.fingerprint
    restarted = Hub.build(hub.settings.instance_path, stricter, registry=new_registry)
    try:
        assert restarted.harvester.aggregator.outdated() == set(new_registry.value_chains)
        report = restarted.harvester.harvest()
        assert report["counts"]["not_modified"] == 3  # no node changed
        after = restarted.queries.metacluster("mc-agri-food")
        assert sorted(c["id"] for c in after["clusters"]) == ["olive", "qoot"]
        assert [c["id"] for c in after["excluded_clusters"]] == ["menara"]
        assert not {m["id"] for m in after["members"]} & {f"menara/menara-{i}" for i in range(4)}
        why = {p["subject"]: p for p in restarted.queries.why("menara")["placements"]
               if p["metacluster_id"] == "mc-agri-food"}
        assert why["cluster"]["included"] is False
        assert restarted.harvester.aggregator.outdated() == set()
        with restarted.db.session() as session:
            assert {r.rules for r in session.scalars(select(MetaClusterRow))} == {new_registry.fingerprint}
        formed = state(restarted)
        Aggregator(restarted.db, restarted.registry).run(rebuild=True)  # from scratch under the same rules
        assert state(restarted) == formed
    finally:
        restarted.close()
