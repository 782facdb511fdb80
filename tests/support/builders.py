"""Documents for test nodes: clusters, members, whole signed-to-be profiles, and the two canned clusters (qoot in
Lebanon, menara in Morocco) that most federation tests use."""

from __future__ import annotations

from datetime import datetime, timezone

from federation.node.service import render_profile

PUBLISHED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
#: Three agri-food activities: wine, biscuits, olive oil.
AGRI_CODES = ("nace-rev2:11.02", "nace-rev2:10.82", "nace-rev2:10.41")


def cluster_doc(cluster_id: str = "qoot", country: str = "LB", value_chains=("agri-food",), **extra) -> dict:
    """A cluster document named after its id."""
    return {"id": cluster_id, "names": {"en": cluster_id.upper(), "fr": cluster_id.upper()}, "country": country,
            "website": f"https://{cluster_id}.example.org", "value_chains": list(value_chains),
            "description": {"en": f"The {cluster_id} cluster"}, **extra}


def member_doc(member_id: str, *codes: str, kind: str = "sme", name: str | None = None, **extra) -> dict:
    """``member_doc("m1", "nace-rev2:11.02")``: a member with activities given as scheme:code."""
    activities = [dict(zip(("scheme", "code"), c.split(":", 1))) for c in codes]
    return {"id": member_id, "kind": kind, "name": name or f"Member {member_id}", "city": "Beirut",
            "size": "small", "activities": activities, "status": "active", **extra}


def load_node(app, cluster: dict, members: list[dict]) -> None:
    """Fill a node through its service layer (what the API and the CSV import call)."""
    service = app.extensions["medmci"].service
    service.put_cluster(cluster)
    for member in members:
        service.create_member(member)


def profile_bytes(cluster_id: str = "menara", country: str = "MA", members: list[dict] | None = None,
                  sequence: int = 1, **cluster_extra) -> bytes:
    """The bytes a node publishes for this cluster (by default three agri-food members)."""
    if members is None:
        members = [member_doc(f"{cluster_id}-{i}", code) for i, code in enumerate(AGRI_CODES)]
    return render_profile(cluster_doc(cluster_id, country, **cluster_extra), members, sequence, PUBLISHED_AT)


def big_profile_bytes(size: int) -> bytes:
    """A valid profile document of at least ``size`` bytes."""
    members = []
    while True:
        members.append(member_doc(f"big-{len(members)}", *AGRI_CODES))
        body = profile_bytes(members=members)
        if len(body) >= size:
            return body


LB_MEMBERS = [
    member_doc("qoot-wine", "nace-rev2:11.02", name="Chateau Qoot"),
    member_doc("qoot-biscuits", "nace-rev2:10.82", name="Qoot Biscuits"),
    member_doc("qoot-oil", "nace-rev2:10.41", name="Qoot Olive Oil", visibility="federation"),
    member_doc("qoot-uni", "nace-rev2:85.42", kind="university", name="Qoot University"),
    member_doc("qoot-secret", "nace-rev2:11.02", name="Secret Winery", visibility="private"),
]
MA_MEMBERS = [
    member_doc("menara-wine", "nace-rev2:11.02", name="Domaine Menara", city="Meknes"),
    member_doc("menara-biscuits", "nace-rev2:10.82", name="Menara Biscuiterie", city="Fes"),
    member_doc("menara-oil", "nace-rev2:10.41", name="Huilerie Menara", city="Marrakech"),
    member_doc("menara-cold", "nace-rev2:52.24", name="Menara Cargo Handling", city="Agadir"),
    member_doc("menara-lab", "nace-rev2:72.19", kind="research_centre", name="Menara Agro Lab", city="Rabat"),
]
#: node id -> (cluster id, country, members). The hub's node ids differ from the cluster ids on purpose.
LB_MA_NODES = {"node-lb": ("qoot", "LB", LB_MEMBERS), "node-ma": ("menara", "MA", MA_MEMBERS)}
#: qoot as a node that joins a hub: its only logistics member is shared with the federation, not the public.
JOIN_LB_MEMBERS = [
    member_doc("qoot-wine", "nace-rev2:11.02", name="Chateau Qoot"),
    member_doc("qoot-biscuits", "nace-rev2:10.82", name="Qoot Biscuits"),
    member_doc("qoot-oil", "nace-rev2:10.41", name="Qoot Olive Oil"),
    member_doc("qoot-cargo", "nace-rev2:52.24", name="Qoot Cold Chain", visibility="federation"),
]
#: A cluster's member list as a file (tests of the node's member commands): one member marked dormant, one active
#: without an e-mail, one long without activity.
MEMBERS_CSV = """id,kind,name,city,activities,status,last_active,email
lb-1,sme,Chateau Ksara,Zahle,nace-rev2:11.02,dormant,2024-01-10,wine@ksara.example
lb-2,sme,Bekaa Olive Press,Zahle,nace-rev2:10.41,active,2099-01-01,
lb-3,sme,Tyre Sweets,Tyre,nace-rev2:10.82,active,2020-05-01,sweets@tyre.example
"""


def node_instance(path, registry, public_url: str | None = None):
    """A node's instance folder (SQLite) holding a cluster (qoot) and the members of :data:`MEMBERS_CSV`, made
    through the service layer, for the commands under test to open."""
    from federation.node.app import Node

    node = Node.build(path, registry=registry)
    try:
        if public_url:
            node.hubs.set_public_url(public_url, actor="test")
        node.service.put_cluster(cluster_doc())
        node.service.import_members(MEMBERS_CSV.encode("utf-8"))
    finally:
        node.close()
    return path
