"""Version skew: a hub and its nodes at different plugin sets, over real HTTP on loopback.

- A node with a plugin the hub lacks: the hub keeps its profile, sets aside just the value chains and the codes of
  schemes it does not know, keeps the exact bytes, and reports what it set aside (the version record, `hub nodes
  --health`, the node's push answer, which the node keeps).
- A hub with a plugin a node lacks: the hub publishes a signed catalogue; a node that trusts the hub reads it
  (bounded, signed for that hub's URL by a key it trusts for that hub) and accepts the hub's value chains and the
  codes of its schemes; the hub then reads the node's profile whole.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from federation.catalog_api import SIGNATURE_HEADER, catalog_document
from federation.cli import main
from federation.errors import SignatureError, ValidationError
from federation.hub.app import Hub, create_hub_app
from federation.hub.hubkeys import rotate
from federation.hub.models import ClusterView, MemberView, ProfileVersion
from federation.hub.verify import verify_versions
from federation.node.app import create_node_app
from federation.node.catalogs import CatalogLimits, read_catalog
from federation.node.join import trust_hub
from federation.node.models import HubCatalog, TrustedHubKey
from federation.node.notify import HubNotifier
from federation.profile import read_profile
from federation.registry import Registry
from federation.settings import Settings, deep_merge, packaged_settings
from federation.signing import KeyStore, sign_document
from tests.support.builders import cluster_doc, load_node, member_doc
from tests.support.clients import client_with_token
from tests.support.environment import TEST_SETTINGS
from tests.support.waiting import wait_until

#: A third party's plugin, as a module named in plugins.extra: a value chain and an activity scheme the built-ins
#: lack (the scheme crosswalks to NACE Rev. 2, the pivot).
PLUGIN = '''
"""Sea salt: a value chain and a salt activity scheme."""
from federation import Code, Stage, Taxonomy, ValueChain, hookimpl

CODES = {"SK1": ("Sea salt", None, "08.93"), "SK1.1": ("Sea salt harvesting", "SK1", "08.93"),
         "SK2": ("Salt trade", None, "46.38")}


@hookimpl
def medmci_register_taxonomies():
    codes = {c: Code(c, 2 if parent else 1, parent, {"en": label}) for c, (label, parent, _n) in CODES.items()}
    return [Taxonomy("skew-salt", {"en": "Salt activities"}, codes,
                     crosswalks={"nace-rev2": {c: (nace,) for c, (_l, _p, nace) in CODES.items()}})]


@hookimpl
def medmci_register_value_chains(taxonomies):
    def stage(stage_id, name, codes):
        return Stage(stage_id, {"en": name}, "core", taxonomies.pivot_prefixes({"nace-rev2": codes}, stage_id))
    return [ValueChain("sea-salt", {"en": "Sea salt"}, (stage("harvest", "Salt harvesting", ["08.93"]),
                                                       stage("trade", "Salt trade", ["46.38"])))]
'''

SET_ASIDE = {"value_chains": ["sea-salt"], "value_chains_total": 1,
             "schemes": [{"scheme": "skew-salt", "codes": 3, "members": 2}], "schemes_total": 1}


@pytest.fixture(scope="module")
def plugged(tmp_path_factory, registry):
    """A registry with the sea-salt plugin (``registry``, the built-ins only, is built first)."""
    folder = tmp_path_factory.mktemp("skew_plugin")
    (folder / "skew_salt.py").write_text(PLUGIN, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        yield Registry.build(Settings.load(folder, {"plugins": {"extra": ["skew_salt"]}}))
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("skew_salt", None)


@pytest.fixture
def make_skew_node(tmp_path, database_url):
    """``make_skew_node(name, registry)``: a node app with its own plugins (its registry) and database."""
    apps = []

    def make(name: str, registry: Registry, overrides: dict | None = None):
        settings = deep_merge({"database_url": database_url(name), **TEST_SETTINGS}, overrides or {})
        app = create_node_app(tmp_path / name, settings, registry=registry)
        _record, token = app.extensions["medmci"].tokens.create("test-admin", "node_admin")
        app.test_client_class = client_with_token(token)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["medmci"].db.dispose()


def salt_members() -> list[dict]:
    return [member_doc("wine", "nace-rev2:11.02"),
            member_doc("salt-works", "skew-salt:SK1.1", "nace-rev2:08.93"),
            member_doc("salt-trader", "skew-salt:SK2",
                       offers=[{"text": "Sea salt", "codes": [{"scheme": "skew-salt", "code": "SK1"}]}])]


def invoke(runner: CliRunner, *args):
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result.output


# -- the reader ------------------------------------------------------------------------------------------------------

def profile_of(value_chains, members) -> dict:
    return {"schema": "med-mci/profile", "version": "1.2", "sequence": 1,
            "published_at": "2026-01-01T00:00:00+00:00", "audience": "federation",
            "cluster": cluster_doc("salinas", "LB", value_chains=value_chains), "members": members, "withdrawn": []}


def test_the_reader_sets_aside_unknown_chains_and_schemes_only_when_asked(registry):
    document = profile_of(["agri-food", "sea-salt"], salt_members())
    with pytest.raises(ValidationError, match="unknown value chain 'sea-salt'"):
        read_profile(json.dumps(document), registry.taxonomies, registry.value_chains)

    ignored: dict = {}
    profile = read_profile(json.dumps(document), registry.taxonomies, registry.value_chains, ignored=ignored)
    assert ignored == SET_ASIDE
    assert profile["cluster"]["value_chains"] == ["agri-food"]
    members = {m["id"]: m for m in profile["members"]}
    assert set(members) == {"wine", "salt-works", "salt-trader"}  # every member is kept
    assert members["salt-works"]["activities"] == [{"scheme": "nace-rev2", "code": "08.93"}]
    assert members["salt-trader"]["activities"] == [] and members["salt-trader"]["offers"][0]["codes"] == []

    # Nothing unknown: nothing reported.
    plain: dict = {}
    read_profile(json.dumps(profile_of(["agri-food"], [member_doc("wine", "nace-rev2:11.02")])),
                 registry.taxonomies, registry.value_chains, ignored=plain)
    assert plain == {}


@pytest.mark.parametrize("code, message", [
    ("nace-rev2:99.99", "unknown nace-rev2 code '99.99'"),  # a known scheme: a wrong code is an error still
    ("eu-ecosystems:agri_food", "unknown scheme 'eu-ecosystems'"),  # known, but no activity list
])
def test_the_reader_still_refuses_wrong_codes_of_schemes_it_knows(registry, code, message):
    document = profile_of(["agri-food"], [member_doc("m1", code)])
    with pytest.raises(ValidationError, match=message):
        read_profile(json.dumps(document), registry.taxonomies, registry.value_chains, ignored={})


def test_the_report_of_what_was_set_aside_is_bounded(registry):
    members = [member_doc(f"m{i}", f"scheme-{i:03d}:X") for i in range(30)]
    ignored: dict = {}
    read_profile(json.dumps(profile_of([f"chain-{i:03d}" for i in range(25)], members)), registry.taxonomies,
                 registry.value_chains, ignored=ignored)
    assert len(ignored["value_chains"]) == 20 and ignored["value_chains_total"] == 25
    assert len(ignored["schemes"]) == 20 and ignored["schemes_total"] == 30


# -- a node with a plugin the hub lacks --------------------------------------------------------------------------------

def test_a_hub_without_the_plugin_keeps_the_profile_sets_aside_what_it_does_not_know_and_says_so(
        backend, make_hub, make_skew_node, serve, plugged, monkeypatch):
    hub = make_hub()  # the built-ins only
    hub_server = serve(create_hub_app(hub=hub))
    app = make_skew_node("salt-lb", plugged)
    node_server = serve(app)
    context = app.extensions["medmci"]
    context.hubs.trust(hub_server.url, hub.keys.published(), actor="test")
    load_node(app, cluster_doc("salinas", "LB", value_chains=("agri-food", "sea-salt")), salt_members())

    hub.nodes.register("salt-lb", node_server.url)
    report = hub.harvester.harvest()
    assert [(n["node_id"], n["outcome"]) for n in report["nodes"]] == [("salt-lb", "new_version")]

    with hub.db.session() as session:
        view = session.get(ClusterView, "salt-lb")
        assert view.value_chains == ["agri-food"]
        members = {m.member_id: m for m in session.query(MemberView).filter_by(node_id="salt-lb")}
        version = session.get(ProfileVersion, view.version_id)
        assert version.ignored == SET_ASIDE
        body = version.body
    assert set(members) == {"wine", "salt-works", "salt-trader"}
    assert members["salt-works"].activities == [{"scheme": "nace-rev2", "code": "08.93"}]
    assert members["salt-trader"].activities == [] and members["salt-trader"].offers[0]["codes"] == []
    # The bytes the node signed are kept as they were, the parts set aside included: `hub verify` checks them.
    assert body == context.service.publication("federation").body
    assert [r["status"] for r in verify_versions(hub.db, "salt-lb")] == ["ok"]

    # Reported: the node listing, the version record, the API.
    assert hub.nodes.get("salt-lb")["ignored"] == SET_ASIDE
    assert hub.queries.versions_page("salt-lb")[1][0]["ignored"] == SET_ASIDE
    operator = create_hub_app(hub=hub)
    _record, token = hub.tokens.create("op", "operator")
    listed = FlaskClient(operator).get("/api/v1/nodes", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert listed[0]["ignored"] == SET_ASIDE

    # `hub nodes --health` says it, in words and in JSON.
    monkeypatch.setattr(sys.modules["federation.cli.hub"], "open_hub", lambda ctx: hub)
    runner = CliRunner()
    output = invoke(runner, "hub", "nodes", "--health")
    assert "set aside" in output
    assert "value chains sea-salt; schemes skew-salt (3 codes, 2 members)" in output
    as_json = json.loads(invoke(runner, "hub", "nodes", "--health", "--json"))
    assert as_json[0]["ignored"] == SET_ASIDE

    # The node hears it in the answer to its push, and keeps it with the hub.
    assert HubNotifier(context).notify([hub_server.url]) == {hub_server.url: 202}
    kept, = context.catalogs.list()
    assert kept["hub_url"] == hub_server.url and kept["ignored"] == SET_ASIDE
    monkeypatch.setattr(sys.modules["federation.cli.node_hubs"], "open_node", lambda ctx: context)
    assert "value chains sea-salt; schemes skew-salt (3 codes, 2 members)" in invoke(runner, "node", "trusted-hubs", "list")

    # The node drops the plugin's parts: the next version is read whole, and nothing is reported any more.
    context.service.put_cluster(cluster_doc("salinas", "LB", value_chains=("agri-food",)))
    for member_id in ("salt-works", "salt-trader"):
        context.service.delete_member(member_id)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    assert hub.nodes.get("salt-lb")["ignored"] is None
    assert HubNotifier(context).notify([hub_server.url]) == {hub_server.url: 202}
    assert context.catalogs.list()[0]["ignored"] is None


# -- a hub with a plugin a node lacks ----------------------------------------------------------------------------------

def test_a_node_accepts_what_the_hub_it_trusts_publishes_and_the_hub_reads_it_whole(
        backend, make_hub, make_skew_node, serve, plugged, registry, monkeypatch):
    hub = make_hub(registry_=plugged)
    hub_server = serve(create_hub_app(hub=hub))
    app = make_skew_node("salt-tn", registry)  # the built-ins only
    node_server = serve(app)
    context = app.extensions["medmci"]
    salar = cluster_doc("salar", "TN", value_chains=("sea-salt",))

    with pytest.raises(ValidationError, match="unknown value chain"):  # no hub vouches for it yet
        context.service.put_cluster(salar)

    trust_hub(context, hub_server.url)  # trusts the hub's keys and reads its catalogue
    kept, = context.catalogs.list()
    assert "sea-salt" in kept["value_chains"] and "skew-salt" in kept["schemes"]
    assert kept["last_error"] is None and kept["fetched_at"] is not None

    load_node(app, salar, [member_doc("tn-salt", "skew-salt:SK1.1"), member_doc("tn-trade", "nace-rev2:46.38")])
    # The hub's scheme is checked code by code against the hub's list.
    with pytest.raises(ValidationError, match=r"unknown skew-salt code 'SK9' \(scheme of the hub at "):
        context.service.create_member(member_doc("bad", "skew-salt:SK9"))
    answer = app.test_client().post("/api/v1/members", json=member_doc("tn-salt-2", "skew-salt:SK1"))
    assert answer.status_code == 201, answer.get_json()
    imported = app.test_client().post(
        "/api/v1/members/import", data="id,kind,name,activities\ntn-salt-3,sme,Salt Three,skew-salt:SK2\n",
        content_type="text/csv")
    assert imported.status_code == 200, imported.get_json()
    # A scheme neither the node nor its hubs know is still refused, naming every scheme it may use.
    with pytest.raises(ValidationError, match="unknown scheme 'cpa-2.1' .*skew-salt"):
        context.service.create_member(member_doc("cpa", "cpa-2.1:10.20.1"))

    hub.nodes.register("salt-tn", node_server.url)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    with hub.db.session() as session:
        view = session.get(ClusterView, "salt-tn")
        assert view.value_chains == ["sea-salt"]
        assert session.get(ProfileVersion, view.version_id).ignored is None
        activities = {m.member_id: m.activities for m in session.query(MemberView).filter_by(node_id="salt-tn")}
    assert activities["tn-salt"] == [{"scheme": "skew-salt", "code": "SK1.1"}]
    assert hub.nodes.get("salt-tn")["ignored"] is None
    # Formed with the hub's rules: the cluster's members count on the chain (one country: no meta-cluster yet).
    placement = {p["value_chain"]: p for p in hub.queries.why("salar")["placements"]}["sea-salt"]
    assert placement["reasons"][0] == {"passed": True, "rule": "min-chain-members",
                                       "reason": "4 active members on sea-salt ≥ 3"}

    # The admin sees the catalogues (API and CLI) and reads them again.
    listed = app.test_client().get("/api/v1/trusted-hubs/catalogs").get_json()["hubs"]
    assert [h["hub_url"] for h in listed] == [hub_server.url] and "sea-salt" in listed[0]["value_chains"]
    assert FlaskClient(app).get("/api/v1/trusted-hubs/catalogs").status_code == 401  # admin only
    refreshed = app.test_client().post("/api/v1/trusted-hubs/catalogs/refresh").get_json()["results"]
    assert [(r["hub_url"], r["ok"]) for r in refreshed] == [(hub_server.url, True)]
    monkeypatch.setattr(sys.modules["federation.cli.node_hubs"], "open_node", lambda ctx: context)
    output = invoke(CliRunner(), "node", "trusted-hubs", "refresh")
    assert hub_server.url in output and "yes" in output

    # A hub the node no longer trusts vouches for nothing.
    with context.db.session() as session:
        for key in session.query(TrustedHubKey):
            key.not_after = datetime.now(timezone.utc) - timedelta(seconds=1)
    with pytest.raises(ValidationError, match="unknown value chain"):
        context.service.put_cluster(salar)
    with pytest.raises(ValidationError, match="unknown scheme 'skew-salt'"):
        context.service.create_member(member_doc("late", "skew-salt:SK1"))


def test_a_refused_catalogue_keeps_the_previous_one_with_the_reason(backend, make_hub, make_skew_node, serve,
                                                                    plugged, registry):
    hub = make_hub(registry_=plugged)
    hub_server = serve(create_hub_app(hub=hub))
    app = make_skew_node("salt-gr", registry)
    serve(app)
    context = app.extensions["medmci"]
    trust_hub(context, hub_server.url)
    context.service.put_cluster(cluster_doc("salgr", "GR", value_chains=("sea-salt",)))

    limits = context.catalogs.limits
    for bound, setting in (({"max_codes": 10}, "catalog.max_codes"), ({"max_bytes": 1000}, "catalog.max_bytes"),
                           ({"max_value_chains": 1}, "catalog.max_value_chains")):
        context.catalogs.limits = replace(limits, **bound)
        result, = context.catalogs.refresh()
        assert not result["ok"] and setting in result["reason"]
        kept, = context.catalogs.list()
        assert setting in kept["last_error"] and "sea-salt" in kept["value_chains"]  # the previous one stays
    context.catalogs.limits = limits
    context.service.put_cluster(cluster_doc("salgr", "GR", value_chains=("sea-salt",)))

    # A hub at another URL, with keys this node does not trust for it, is not one of its hubs.
    with pytest.raises(ValidationError, match="trusts no hub"):
        context.catalogs.refresh("http://127.0.0.1:9/")


def test_a_hub_key_rotation_reads_the_catalogue_again(backend, make_hub, make_skew_node, serve, plugged, registry):
    hub = make_hub(registry_=plugged)
    hub_server = serve(create_hub_app(hub=hub))
    app = make_skew_node("salt-cy", registry)
    node_server = serve(app)
    context = app.extensions["medmci"]
    trust_hub(context, hub_server.url)
    context.service.put_cluster(cluster_doc("salcy", "CY"))
    hub.nodes.register("salt-cy", node_server.url)
    with context.db.session() as session:
        first = session.get(HubCatalog, hub_server.url).kid

    new_kid = rotate(hub, actor="test")["kid"]
    assert new_kid != first

    def signed_by_new_key():
        with context.db.session() as session:
            return session.get(HubCatalog, hub_server.url).kid == new_kid
    wait_until(signed_by_new_key, 10, "the catalogue signed by the hub's new key")


# -- the catalogue document --------------------------------------------------------------------------------------------

URL = "http://hub.test/api/v1/catalog"


@pytest.fixture
def signed(tmp_path, plugged):
    keys = KeyStore.load_or_create(tmp_path / "keys")
    kid, key = keys.current

    def sign(document: dict, url: str = URL, with_key=None) -> tuple[bytes, str]:
        body = json.dumps(document).encode()
        return body, sign_document(body, with_key or key, kid, htu=url)

    return sign, {kid: key.public_key()}


def limits(**bounds) -> CatalogLimits:
    return replace(CatalogLimits.from_settings(packaged_settings()), **bounds)


def test_a_catalogue_is_read_only_signed_for_its_url_by_a_trusted_key(signed, plugged, tmp_path):
    sign, keys = signed
    document = catalog_document(plugged)
    body, signature = sign(document)
    catalog, _kid = read_catalog(body, signature, keys, URL, limits())
    assert "sea-salt" in [c["id"] for c in catalog["value_chains"]]
    scheme = next(s for s in catalog["schemes"] if s["scheme"] == "skew-salt")
    assert scheme["codes"] == ["SK1", "SK1.1", "SK2"]
    assert "eu-ecosystems" not in [s["scheme"] for s in catalog["schemes"]]  # only lists of activities

    with pytest.raises(SignatureError, match="signed for another URL"):
        read_catalog(*sign(document, url="http://elsewhere.test/api/v1/catalog"), keys, URL, limits())
    stranger = KeyStore.load_or_create(tmp_path / "stranger").current[1]
    with pytest.raises(SignatureError, match="does not match"):
        read_catalog(*sign(document, with_key=stranger), keys, URL, limits())
    with pytest.raises(SignatureError, match="unsigned"):
        read_catalog(body, None, keys, URL, limits())
    with pytest.raises(SignatureError, match="does not match"):
        read_catalog(body.replace(b"sea-salt", b"sea-sand"), signature, keys, URL, limits())


@pytest.mark.parametrize("change, message", [
    (lambda d: d["value_chains"].extend([d["value_chains"][0]] * 200), "catalog.max_value_chains"),
    (lambda d: d["value_chains"][0]["stages"].extend([d["value_chains"][0]["stages"][0]] * 60), "catalog.max_stages"),
    (lambda d: d["schemes"].extend([d["schemes"][0]] * 30), "catalog.max_schemes"),
    (lambda d: d["schemes"][0]["codes"].extend(f"X{i}" for i in range(20001)), "catalog.max_codes"),
])
def test_a_catalogue_over_a_bound_is_refused_before_its_signature_is_checked(plugged, change, message):
    document = catalog_document(plugged)
    change(document)
    with pytest.raises(ValidationError, match=message):
        read_catalog(json.dumps(document).encode(), None, {}, URL, limits())  # unsigned: counted first


def test_a_catalogue_over_its_size_or_depth_or_out_of_shape_is_refused(signed, plugged):
    sign, keys = signed
    body, signature = sign(catalog_document(plugged))
    with pytest.raises(ValidationError, match="catalog.max_bytes"):
        read_catalog(body, signature, keys, URL, limits(max_bytes=len(body) - 1))
    with pytest.raises(ValidationError, match="cannot be read"):
        read_catalog(b"[" * 100 + b"]" * 100, signature, keys, URL, limits())
    for document, message in (
            ({**catalog_document(plugged), "value_chains": [{"id": "Not A Slug"}]}, "not valid"),
            ({**catalog_document(plugged), "schema": "med-mci/profile"}, "not valid"),
            ({**catalog_document(plugged), "schemes": [{"scheme": "x", "codes": ["a"]}] * 2}, "scheme 'x' twice")):
        with pytest.raises(ValidationError, match=message):
            read_catalog(*sign(document), keys, URL, limits())


def test_the_hub_serves_its_catalogue_signed_and_names_it_in_its_discovery(hub_client):
    hub, client = hub_client
    anonymous = FlaskClient(client.application)
    response = anonymous.get("/api/v1/catalog")
    assert response.status_code == 200
    keys = {hub.keys.current[0]: hub.keys.current[1].public_key()}
    catalog, kid = read_catalog(response.get_data(), response.headers[SIGNATURE_HEADER], keys,
                                "http://localhost/api/v1/catalog", limits())
    assert kid == hub.keys.current[0]
    assert [c["id"] for c in catalog["value_chains"]] == sorted(hub.registry.value_chains)
    assert anonymous.get("/.well-known/med-mci-hub").get_json()["catalog_url"] == "http://localhost/api/v1/catalog"


# -- the hub adds the plugin: what it set aside is read again ----------------------------------------------------------

@pytest.fixture(scope="module")
def narrowed(tmp_path_factory, registry):
    """A registry whose skew-salt scheme lacks the code SK2 (a plugin changed so that a kept profile is invalid)."""
    folder = tmp_path_factory.mktemp("skew_plugin_narrow")
    source = PLUGIN.replace(',\n         "SK2": ("Salt trade", None, "46.38")}', "}")
    assert source != PLUGIN
    (folder / "skew_salt_narrow.py").write_text(source, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        yield Registry.build(Settings.load(folder, {"plugins": {"extra": ["skew_salt_narrow"]}}))
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("skew_salt_narrow", None)


SALT_NODES = (("salt-lb", "salinas", "LB"), ("salt-tn", "salar", "TN"))
SALT_CODES = (("works", "skew-salt:SK1.1"), ("pans", "skew-salt:SK1"), ("trade", "skew-salt:SK2"))


def set_aside_federation(make_hub, make_skew_node, serve, plugged) -> Hub:
    """A hub with the built-ins only that harvested two nodes (two countries) with the sea-salt plugin: each
    cluster's sea-salt chain and its members' skew-salt codes are set aside, and no sea-salt meta-cluster forms."""
    hub = make_hub()
    hub_server = serve(create_hub_app(hub=hub))
    for node_id, cluster_id, country in SALT_NODES:
        app = make_skew_node(node_id, plugged)
        node_server = serve(app)
        app.extensions["medmci"].hubs.trust(hub_server.url, hub.keys.published(), actor="test")
        load_node(app, cluster_doc(cluster_id, country, value_chains=("agri-food", "sea-salt")),
                  [member_doc(f"{cluster_id}-{name}", code) for name, code in SALT_CODES])
        hub.nodes.register(node_id, node_server.url)
    report = hub.harvester.harvest()
    assert [(n["node_id"], n["outcome"]) for n in report["nodes"]] == [("salt-lb", "new_version"),
                                                                        ("salt-tn", "new_version")]
    for node_id, _cluster, _country in SALT_NODES:
        assert hub.nodes.get(node_id)["ignored"]["value_chains"] == ["sea-salt"]
    return hub


def reopened(hub: Hub, registry: Registry) -> Hub:
    """The hub's instance and database, with other plugins (a restart after a plugin was added or removed)."""
    return Hub.build(hub.settings.instance_path, {"database_url": hub.settings.get("database_url"), **TEST_SETTINGS},
                     registry=registry)


def stored_state(hub: Hub) -> dict:
    """Node id -> what the hub keeps of its current version: the view's chains, member codes, the version record."""
    state = {}
    with hub.db.session() as session:
        for view in session.query(ClusterView).order_by(ClusterView.node_id):
            version = session.get(ProfileVersion, view.version_id)
            members = {m.member_id: m.activities for m in session.query(MemberView).filter_by(node_id=view.node_id)}
            state[view.node_id] = {"value_chains": view.value_chains, "members": members, "version_id": version.id,
                                   "ignored": version.ignored, "body": version.body, "signature": version.signature,
                                   "sha256": version.sha256, "kid": version.kid}
    return state


def assert_read_again(before: dict, after: dict) -> None:
    """Each node's current version, read again with the plugin: its chain and codes back, nothing set aside, the
    same version with the same bytes and signature."""
    assert set(after) == {"salt-lb", "salt-tn"}
    for node_id, state in after.items():
        assert state["value_chains"] == ["agri-food", "sea-salt"]
        cluster = dict((n, c) for n, c, _country in SALT_NODES)[node_id]
        assert state["members"][f"{cluster}-works"] == [{"scheme": "skew-salt", "code": "SK1.1"}]
        assert state["members"][f"{cluster}-trade"] == [{"scheme": "skew-salt", "code": "SK2"}]
        assert state["ignored"] is None
        for key in ("version_id", "body", "signature", "sha256", "kid"):
            assert state[key] == before[node_id][key], key


def sea_salt(hub: Hub) -> dict | None:
    return {m["value_chain"]: m for m in hub.queries.metaclusters(formed=None)}.get("sea-salt")


def test_reform_after_the_plugin_was_added_reads_again_what_the_hub_set_aside(
        backend, make_hub, make_skew_node, serve, plugged, registry, monkeypatch):
    hub = set_aside_federation(make_hub, make_skew_node, serve, plugged)
    before = stored_state(hub)
    assert all(s["members"]["salinas-works" if n == "salt-lb" else "salar-works"] == [] for n, s in before.items())
    runner = CliRunner()
    with_plugin = reopened(hub, plugged)
    try:
        monkeypatch.setattr(sys.modules["federation.cli.metaclusters"], "open_hub", lambda ctx: with_plugin)
        output = invoke(runner, "hub", "reform")
        assert "Read again with this hub's plugins (parts set aside before): salt-lb, salt-tn" in output
        assert_read_again(before, stored_state(with_plugin))
        formed = sea_salt(with_plugin)
        assert formed["formed"] and sorted(formed["countries"]) == ["LB", "TN"]
        # The members are placed on the chain, and the signed bytes still verify.
        placement = {p["value_chain"]: p for p in with_plugin.queries.why("salinas")["placements"]}["sea-salt"]
        assert placement["reasons"][0] == {"passed": True, "rule": "min-chain-members",
                                           "reason": "3 active members on sea-salt ≥ 3"}
        assert [r["status"] for r in verify_versions(with_plugin.db, "salt-lb")] == ["ok"]
        assert [e["action"] for e in with_plugin.audit.events(action="version.reread")] == ["version.reread"] * 2
        # Nothing is reported as set aside any more; a second reform has nothing to read again.
        monkeypatch.setattr(sys.modules["federation.cli.hub"], "open_hub", lambda ctx: with_plugin)
        assert "set aside" not in invoke(runner, "hub", "nodes", "--health")
        again = json.loads(invoke(runner, "hub", "reform", "--json"))
        assert again["reread"] == {"nodes": [], "failures": []}
        assert {"value_chain": "sea-salt", "formed": True} in again["formed"]
    finally:
        with_plugin.close()

    # The plugin removed again: the existing retirement drops the chain's results.
    without = reopened(hub, registry)
    try:
        monkeypatch.setattr(sys.modules["federation.cli.metaclusters"], "open_hub", lambda ctx: without)
        retired = json.loads(invoke(runner, "hub", "reform", "--json"))
        assert retired["retired"] == ["sea-salt"] and retired["reread"] == {"nodes": [], "failures": []}
        assert sea_salt(without) is None
    finally:
        without.close()


def test_a_harvest_after_the_plugin_was_added_reads_again_what_the_hub_set_aside_though_nodes_answer_304(
        backend, make_hub, make_skew_node, serve, plugged):
    hub = set_aside_federation(make_hub, make_skew_node, serve, plugged)
    before = stored_state(hub)
    assert sea_salt(hub) is None
    with_plugin = reopened(hub, plugged)
    try:
        report = with_plugin.harvester.harvest()
        assert [n["outcome"] for n in report["nodes"]] == ["not_modified", "not_modified"]
        assert report["reread"] == {"nodes": ["salt-lb", "salt-tn"], "failures": []}
        assert_read_again(before, stored_state(with_plugin))
        formed = sea_salt(with_plugin)
        assert formed["formed"] and sorted(formed["countries"]) == ["LB", "TN"]
        assert with_plugin.nodes.get("salt-tn")["ignored"] is None
        # Read once: the next run has nothing to read again.
        assert with_plugin.harvester.harvest()["reread"] == {"nodes": [], "failures": []}
    finally:
        with_plugin.close()


def test_a_version_that_no_longer_reads_keeps_its_rows_and_the_failure_is_reported(
        backend, make_hub, make_skew_node, serve, plugged, narrowed, monkeypatch):
    hub = set_aside_federation(make_hub, make_skew_node, serve, plugged)
    before = stored_state(hub)
    runner = CliRunner()
    changed = reopened(hub, narrowed)  # its skew-salt scheme refuses SK2, which every node's members use
    try:
        monkeypatch.setattr(sys.modules["federation.cli.metaclusters"], "open_hub", lambda ctx: changed)
        result = runner.invoke(main, ["hub", "reform"])
        assert result.exit_code == 1, result.output
        assert "Node salt-lb keeps its rows as they were: its current version no longer reads" in result.output
        assert "SK2" in result.output
        assert stored_state(changed) == before  # never half-written
        report = changed.harvester.harvest()
        assert [f["node_id"] for f in report["reread"]["failures"]] == ["salt-lb", "salt-tn"]
        assert report["reread"]["nodes"] == [] and stored_state(changed) == before
    finally:
        changed.close()
    # Nothing was marked as read: with the plugin as it should be, the versions are read again.
    with_plugin = reopened(hub, plugged)
    try:
        assert with_plugin.harvester.reread().nodes == ["salt-lb", "salt-tn"]
        assert_read_again(before, stored_state(with_plugin))
    finally:
        with_plugin.close()
