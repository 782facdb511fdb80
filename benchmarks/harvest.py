"""Harvest benchmark: a synthetic federation on loopback, timed against a floor measured in the same run.

    python -m benchmarks.harvest --nodes 500 --members 400 --database sqlite:///bench.db --json result.json

Not part of the test suite. It measures, on one machine and in one run:

(a) ``full_s``: a full harvest of N nodes: fetch, signature check, validation, storage, aggregation;
(b) ``unchanged_s``: a second harvest of all N nodes with nothing changed (conditional requests, 304s);
(c) ``one_changed_s``: one node changes and pushes a signed notification; the due-only harvest it causes
    (that node's fetch, storage, and the re-aggregation of the value chains it touches);
(d) ``floor_s``: the same documents fetched with a bare HTTP loop, parsed with json.loads and bulk-inserted into
    a table of the same database: what any harvester must at least do.

The nodes are synthetic (a realistic spread of activity codes, countries, kinds and text), each signing its
documents with its own key, served by a few real HTTP servers on 127.0.0.1 (one path prefix per node).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import requests
import sqlalchemy as sa

from federation.hub.app import Hub
from federation.node.service import render_profile
from federation.serving import BackgroundServer
from federation.signing import KeyStore, sign_document, sign_request

SERVERS = 4
CODES = {  # NACE classes by value chain, with the countries that have them most
    "agri-food": ["01.11", "01.21", "01.24", "01.26", "01.41", "10.11", "10.32", "10.41", "10.51", "10.71",
                  "10.82", "11.02", "11.07", "17.21", "22.22", "46.31", "49.41", "52.10"],
    "food-cosmetics": ["01.28", "20.53", "20.42", "10.41", "10.84", "46.45"],
    "textile-apparel": ["13.10", "13.20", "13.30", "13.92", "13.96", "14.13", "14.14", "15.12", "46.41"],
    "electronics": ["26.11", "26.12", "26.20", "26.30", "26.51", "27.11", "27.12", "62.01", "46.52"],
    "bioeconomy-waste": ["38.11", "38.21", "38.32", "35.21", "20.14", "16.29", "02.20"],
}
COUNTRIES = ["LB", "MA", "TN", "ES", "FR", "IT", "GR", "EG", "JO", "PT", "LV", "DZ"]
KINDS = ["sme"] * 14 + ["startup"] * 3 + ["large_company", "support_organisation", "investor", "public_body",
                                          "university", "research_centre"]
WORDS = ("olive oil wine snacks dairy dates herbs couscous argan textiles yarn denim leather sensors boards "
         "packaging logistics recycling compost biogas export quality organic design fibre circuits").split()


class SyntheticFederation:
    """N nodes' signed discovery and profile documents, served under /n/<i>/ by a few real HTTP servers."""

    def __init__(self, n_nodes: int, n_members: int, workdir: Path, seed: int = 42):
        self.rng = random.Random(seed)
        self.n_members = n_members
        self.nodes = []
        self.servers = []
        keys = KeyStore.load_or_create(workdir / "node-keys")  # one key for all: generation speed, not security
        self.kid, self.key = keys.current
        self.jwks = keys.published()
        for i in range(n_nodes):
            chain = list(CODES)[i % len(CODES)]
            country = COUNTRIES[i % len(COUNTRIES)]
            self.nodes.append({"id": f"c{i:04d}", "chain": chain, "country": country, "sequence": 1,
                               "members": [self._member(i, j, chain) for j in range(n_members)]})
        self.bodies = {}
        for index in range(len(self.nodes)):
            self._render(index)

    def _member(self, node: int, j: int, chain: str) -> dict:
        rng = self.rng
        kind = rng.choice(KINDS)
        codes = ["85.42"] if kind == "university" else ["72.19"] if kind == "research_centre" else \
            rng.sample(CODES[chain], k=min(len(CODES[chain]), rng.choice((1, 1, 2, 3))))
        if rng.random() < 0.1:  # some members work on another chain too
            codes.append(rng.choice(CODES[rng.choice(list(CODES))]))
        words = " ".join(rng.sample(WORDS, 3))
        return {"id": f"m{node:04d}-{j:04d}", "kind": kind, "name": f"{words.title()} {j}", "city": "Town",
                "size": rng.choice(["micro", "small", "medium", "large"]),
                "activities": [{"scheme": "nace-rev2", "code": c} for c in dict.fromkeys(codes)],
                "offers": [{"text": f"{words} products and services", "codes": []}],
                "needs": [{"text": "partners in other Mediterranean countries", "codes": []}],
                "export_markets": rng.sample(COUNTRIES, 2), "status": "active" if rng.random() < 0.9 else "dormant",
                "last_active": None, "audience": "public", "contact": None}

    def _render(self, index: int) -> None:
        node = self.nodes[index]
        cluster = {"id": node["id"], "names": {"en": f"Cluster {node['id']}"}, "country": node["country"],
                   "website": None, "value_chains": [node["chain"]], "description": {}}
        body = render_profile(cluster, node["members"], node["sequence"], datetime.now(timezone.utc))
        self.bodies[index] = body

    def change(self, index: int) -> None:
        node = self.nodes[index]
        node["sequence"] += 1
        node["members"].append(self._member(index, len(node["members"]), node["chain"]))
        self._render(index)

    def base_url(self, index: int) -> str:
        return f"{self.servers[index % len(self.servers)].url}/n/{index}"

    def wsgi(self, environ, start_response):
        parts = environ["PATH_INFO"].strip("/").split("/")
        index = int(parts[1])
        node = self.nodes[index]
        base = f"http://{environ['HTTP_HOST']}/n/{index}"
        if parts[2:] == [".well-known", "med-mci"]:
            document = {"schema": "med-mci/discovery", "version": "1.0", "cluster_id": node["id"],
                        "cluster": {"id": node["id"], "country": node["country"]}, "keys": self.jwks,
                        "profiles": [{"version": "1.1", "url": f"{base}/api/v1/profile"}]}
            body = json.dumps(document).encode()
            headers = [("Med-MCI-Signature", sign_document(document, self.key, self.kid))]
        else:
            body = self.bodies[index]
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            if environ.get("HTTP_IF_NONE_MATCH") == etag:
                start_response("304 Not Modified", [("ETag", etag)])
                return [b""]
            headers = [("ETag", etag), ("Med-MCI-Signature", sign_document(
                body, self.key, self.kid, htu=f"{base}/api/v1/profile", sub=node["id"]))]
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                       + headers)
        return [body]

    def __enter__(self):
        from flask import Flask

        app = Flask("synthetic-nodes")
        app.wsgi_app = self.wsgi
        self.servers = [BackgroundServer(app).start() for _ in range(SERVERS)]
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.stop()


def floor(federation: SyntheticFederation, database_url: str) -> float:
    """Bare fetch + json.loads + one bulk insert of all members into a scratch table of the same database."""
    engine = sa.create_engine(database_url)
    meta = sa.MetaData()
    table = sa.Table("bench_floor_members", meta, sa.Column("node", sa.String(16)), sa.Column("id", sa.String(32)),
                     sa.Column("doc", sa.JSON))
    meta.drop_all(engine)
    meta.create_all(engine)
    session = requests.Session()
    started = time.perf_counter()
    rows = []
    for index, node in enumerate(federation.nodes):
        document = json.loads(session.get(f"{federation.base_url(index)}/api/v1/profile", timeout=30).content)
        rows.extend({"node": node["id"], "id": m["id"], "doc": m} for m in document["members"])
    with engine.begin() as connection:
        connection.execute(table.insert(), rows)
    elapsed = time.perf_counter() - started
    meta.drop_all(engine)
    engine.dispose()
    return elapsed


def run(n_nodes: int, n_members: int, database_url: str | None) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="medmci-bench-"))
    database_url = database_url or f"sqlite:///{workdir / 'hub.sqlite3'}"
    overrides = {"database_url": database_url,
                 "harvest": {"allow_networks": ["127.0.0.0/8"], "workers": 8, "timeout_s": 60},
                 # Documents are signed once when generated; the run may take longer than the replay window.
                 "trust": {"signature_max_age_s": 24 * 3600}}
    print(f"generating {n_nodes} nodes x {n_members} members ...", file=sys.stderr)
    with SyntheticFederation(n_nodes, n_members, workdir) as federation:
        hub = Hub.build(workdir / "hub", overrides)
        for index, node in enumerate(federation.nodes):
            hub.nodes.register(node["id"], federation.base_url(index))
        print("measuring ...", file=sys.stderr)
        started = time.perf_counter()
        first = hub.harvester.harvest()
        full_s = time.perf_counter() - started
        assert first["counts"]["new_version"] == n_nodes, first["counts"]

        started = time.perf_counter()
        second = hub.harvester.harvest()
        unchanged_s = time.perf_counter() - started
        assert second["counts"]["new_version"] == 0, second["counts"]

        changed = n_nodes // 2
        federation.change(changed)
        started = time.perf_counter()
        notification = requests.Request("POST", f"http://127.0.0.1/api/v1/nodes/{federation.nodes[changed]['id']}"
                                                "/notify").prepare()
        sign_request(notification, federation.key, federation.kid)
        hub.nodes.verify_node_request(federation.nodes[changed]["id"], "POST", notification.url,
                                      notification.headers, b"")
        hub.nodes.request_fetch(federation.nodes[changed]["id"])
        third = hub.harvester.harvest(due_only=True)
        one_changed_s = time.perf_counter() - started
        assert third["counts"]["new_version"] == 1, third["counts"]

        floor_s = floor(federation, database_url)
        hub.db.dispose()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"nodes": n_nodes, "members": n_members, "database": sa.engine.make_url(database_url).get_backend_name(),
            "full_s": round(full_s, 3), "unchanged_s": round(unchanged_s, 3), "one_changed_s": round(one_changed_s, 3),
            "floor_s": round(floor_s, 3), "full_over_floor": round(full_s / floor_s, 2),
            "unchanged_over_full": round(unchanged_s / full_s, 4), "one_changed_over_full": round(one_changed_s / full_s, 4),
            "peak_rss_mb": round(peak_rss_mb, 1),
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": __import__("os").cpu_count()},
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--json", dest="json_file", help="write the result here")
    args = parser.parse_args(argv)
    result = run(args.nodes, args.members, args.database)
    rows = [("full harvest (a)", result["full_s"], f"{result['full_over_floor']}x floor"),
            ("unchanged (b)", result["unchanged_s"], f"{result['unchanged_over_full']:.1%} of (a)"),
            ("one changed, pushed (c)", result["one_changed_s"], f"{result['one_changed_over_full']:.1%} of (a)"),
            ("floor (d)", result["floor_s"], "")]
    print(f"{result['nodes']} nodes x {result['members']} members on {result['database']}; "
          f"peak RSS {result['peak_rss_mb']} MB")
    for name, seconds, ratio in rows:
        print(f"  {name:26s} {seconds:9.3f} s  {ratio}")
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
