from tests.support.builders import cluster_doc, load_node, member_doc


def test_two_nodes_form_a_metacluster_over_http(make_node, make_hub, serve):
    urls = {}
    for cid, country in (("qoot", "LB"), ("menara", "MA")):
        node = make_node(cid)
        load_node(node, cluster_doc(cid, country), [member_doc(f"{cid}-{i}", code) for i, code in
                                                     enumerate(["nace-rev2:11.02", "nace-rev2:10.82", "nace-rev2:10.41"])])
        urls[cid] = serve(node).url
    hub = make_hub()
    for cid, url in urls.items():
        hub.nodes.register(cid, url)
    report = hub.harvester.harvest()
    assert report["counts"]["new_version"] == 2
    export = hub.queries.export()
    assert [m["id"] for m in export["metaclusters"]] == ["mc-agri-food"]
    assert export["metaclusters"][0]["countries"] == ["LB", "MA"]
