"""Harvest benchmark: a synthetic federation on loopback, timed against a floor measured in the same run.

    python -m benchmarks.harvest --nodes 500 --members 400 --database sqlite:///bench.db --json result.json
    python -m benchmarks.harvest --nodes 100 --members 400 --gzip     # adds (e): the full harvest in gzip

Not part of the test suite. It measures, on one machine and in one run:

(a) ``full_s``: a full harvest of N nodes: fetch, signature check, validation, storage, aggregation;
(b) ``unchanged_s``: a second harvest of all N nodes with nothing changed (conditional requests, 304s);
(c) ``one_changed_s``: one node changes and pushes a signed notification; the due-only harvest it causes
    (that node's fetch, storage, and the re-aggregation of the value chains it touches);
(d) ``floor_s``: the same documents fetched with a bare HTTP loop, parsed with json.loads and bulk-inserted into
    a table of the same database: what any harvester must at least do. It runs in a fresh process: in the hub's
    process every garbage collection would also walk the hub's objects (``floor_in_hub_process_s`` is that figure,
    for comparison; it is the way the floor was measured before);
(e) with ``--gzip``: ``full_gzip_s``, the full harvest of (a) again, by a second hub over a new database, with the
    nodes serving their profiles in gzip (as a real node does to a hub that asks); ``profile_bytes`` and
    ``profile_gzip_bytes`` are the mean sizes of one profile (M members) without and with gzip.

The nodes are synthetic (a realistic spread of activity codes, countries, kinds and text), each document signed
when it is generated, served by a few real HTTP servers on 127.0.0.1 (one path prefix per node). They run in a
separate process: the hub's peak RSS (``peak_rss_mb``, read before the floor runs) is the hub's own, and the servers
do not compete with the hub for its interpreter lock. On PostgreSQL the benchmark works in a schema of its own,
dropped at the end.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import multiprocessing
import os
import platform
import random
import resource
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
WORDS = ["olive", "oil", "wine", "snacks", "dairy", "dates", "herbs", "couscous", "argan", "textiles", "yarn", "denim",
         "leather", "sensors", "boards", "packaging", "logistics", "recycling", "compost", "biogas", "export",
         "quality", "organic", "design", "fibre", "circuits"]


class SyntheticFederation:
    """N nodes' signed discovery and profile documents, served under /n/<i>/ by a few real HTTP servers."""

    def __init__(self, n_nodes: int, n_members: int, workdir: Path, seed: int = 42):
        self.rng = random.Random(seed)
        self.n_members = n_members
        self.nodes: list[dict[str, Any]] = []
        self.servers: list[BackgroundServer] = []
        keys = KeyStore.load_or_create(workdir / "node-keys")  # one key for all: generation speed, not security
        self.kid, self.key = keys.current
        self.jwks = keys.published()
        for i in range(n_nodes):
            chain = list(CODES)[i % len(CODES)]
            country = COUNTRIES[i % len(COUNTRIES)]
            self.nodes.append({"id": f"c{i:04d}", "chain": chain, "country": country, "sequence": 1,
                               "members": [self._member(i, j, chain) for j in range(n_members)]})
        self.bodies: dict[int, bytes] = {}
        self.signed: dict[int, dict[str, tuple]] = {}
        self.gzipped: dict[int, bytes] = {}
        #: Serve the profile in gzip to a request that accepts it (the benchmark's (e)).
        self.serve_gzip = False
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
        body = render_profile(cluster, node["members"], node["sequence"], datetime.now(UTC))
        self.bodies[index] = body
        if self.servers:
            self._sign(index)

    def _sign(self, index: int) -> None:
        """Sign a node's documents once, when they change (not per request: a node's cost is not the hub's)."""
        node, base, body = self.nodes[index], self.base_url(index), self.bodies[index]
        self.gzipped[index] = gzip.compress(body, mtime=0)  # once per version, like a node's cache
        discovery = {"schema": "med-mci/discovery", "version": "1.0", "cluster_id": node["id"],
                     "cluster": {"id": node["id"], "country": node["country"]}, "keys": self.jwks,
                     "profiles": [{"version": "1.1", "url": f"{base}/api/v1/profile"}]}
        discovery_body = json.dumps(discovery).encode()
        self.signed[index] = {
            "discovery": (discovery_body, sign_document(discovery, self.key, self.kid)),
            "profile": (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
                        sign_document(body, self.key, self.kid, htu=f"{base}/api/v1/profile", sub=node["id"]))}

    def change(self, index: int) -> None:
        node = self.nodes[index]
        node["sequence"] += 1
        node["members"].append(self._member(index, len(node["members"]), node["chain"]))
        self._render(index)

    def base_url(self, index: int) -> str:
        return f"{self.servers[index % len(self.servers)].url}/n/{index}"

    def wsgi(self, environ, start_response):
        parts = environ["PATH_INFO"].strip("/").split("/")
        signed = self.signed[int(parts[1])]
        if parts[2:] == [".well-known", "med-mci"]:
            body, signature = signed["discovery"]
            headers = [("Med-MCI-Signature", signature)]
        else:
            body, etag, signature = signed["profile"]
            coded = self.serve_gzip and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
            if coded:  # the gzip representation, with its own tag (as federation/node/compression.py does)
                body, etag = self.gzipped[int(parts[1])], etag[:-1] + '-gzip"'
            if environ.get("HTTP_IF_NONE_MATCH") == etag:
                start_response("304 Not Modified", [("ETag", etag)])
                return [b""]
            headers = [("ETag", etag), ("Med-MCI-Signature", signature), ("Vary", "Accept-Encoding")]
            if coded:
                headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
        return [body]

    def notification(self, index: int) -> tuple[str, dict]:
        """A signed push notification of node ``index`` (URL and headers), as the node would send it."""
        request = requests.Request("POST", f"http://127.0.0.1/api/v1/nodes/{self.nodes[index]['id']}/notify").prepare()
        sign_request(request, self.key, self.kid)
        if request.url is None:  # a prepared request has its URL
            raise ValueError("the notification has no URL")
        return request.url, dict(request.headers)

    def __enter__(self):
        from flask import Flask

        app = Flask("synthetic-nodes")
        app.wsgi_app = self.wsgi  # type: ignore[method-assign]  # Flask's documented way to replace its WSGI app
        self.servers = [BackgroundServer(app).start() for _ in range(SERVERS)]
        for index in range(len(self.nodes)):
            self._sign(index)
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.stop()


def serve_nodes(n_nodes: int, n_members: int, workdir: str, connection) -> None:
    """The synthetic federation's process: generate, serve, and obey the hub process's commands until "stop"."""
    with SyntheticFederation(n_nodes, n_members, Path(workdir)) as federation:
        connection.send([(node["id"], node["country"], federation.base_url(i))
                         for i, node in enumerate(federation.nodes)])
        while True:
            command, *args = connection.recv()
            if command == "stop":
                break
            if command == "change":
                federation.change(*args)
                connection.send(None)
            elif command == "notification":
                connection.send(federation.notification(*args))
            elif command == "gzip":
                federation.serve_gzip = bool(args[0])
                connection.send(None)
            elif command == "sizes":
                plain = [len(federation.bodies[i]) for i in range(len(federation.nodes))]
                coded = [len(federation.gzipped[i]) for i in range(len(federation.nodes))]
                connection.send((sum(plain) / len(plain), sum(coded) / len(coded)))


class RemoteFederation:
    """The hub process's handle on the synthetic federation served by another process."""

    def __init__(self, n_nodes: int, n_members: int, workdir: Path):
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: none of this process's memory
        self._connection, child = context.Pipe()
        self._process = context.Process(target=serve_nodes, args=(n_nodes, n_members, str(workdir), child),
                                        name="synthetic-nodes", daemon=True)

    def __enter__(self):
        self._process.start()
        self.nodes = [{"id": id_, "country": country, "url": url} for id_, country, url in self._connection.recv()]
        return self

    def base_url(self, index: int) -> str:
        return self.nodes[index]["url"]

    def change(self, index: int) -> None:
        self._connection.send(("change", index))
        self._connection.recv()

    def notification(self, index: int) -> tuple[str, dict]:
        self._connection.send(("notification", index))
        return self._connection.recv()

    def serve_gzip(self, on: bool) -> None:
        self._connection.send(("gzip", on))
        self._connection.recv()

    def sizes(self) -> tuple[float, float]:
        """The mean bytes of one profile, without and with gzip."""
        self._connection.send(("sizes",))
        return self._connection.recv()

    def __exit__(self, *exc):
        try:
            self._connection.send(("stop",))
        finally:
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.terminate()


def floor(nodes: list[dict], database_url: str) -> float:
    """Bare fetch + json.loads + one bulk insert of all members into a scratch table of the same database."""
    engine = sa.create_engine(database_url)
    meta = sa.MetaData()
    table = sa.Table("bench_floor_members", meta, sa.Column("node", sa.String(16)), sa.Column("id", sa.String(32)),
                     sa.Column("doc", sa.JSON))
    meta.drop_all(engine)
    meta.create_all(engine)
    session = requests.Session()
    started = time.perf_counter()
    rows: list[dict] = []
    for node in nodes:
        document = json.loads(session.get(f"{node['url']}/api/v1/profile", timeout=30).content)
        rows.extend({"node": node["id"], "id": m["id"], "doc": m} for m in document["members"])
    with engine.begin() as connection:
        connection.execute(table.insert(), rows)
    elapsed = time.perf_counter() - started
    meta.drop_all(engine)
    engine.dispose()
    return elapsed


def _floor_child(nodes: list[dict], database_url: str, connection) -> None:
    connection.send(floor(nodes, database_url))


def floor_in_fresh_process(nodes: list[dict], database_url: str) -> float:
    """:func:`floor` in a new interpreter: what the floor costs on its own, not in a process that holds the hub's
    objects (every garbage collection there walks them too)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_floor_child, args=(nodes, database_url, sender), name="floor")
    process.start()
    try:
        return receiver.recv()
    finally:
        process.join(timeout=60)


@contextmanager
def bench_database(database_url: str | None, workdir: Path):
    """The URL to use: a new SQLite file by default; on PostgreSQL, a schema of its own, dropped afterwards."""
    if database_url is None:
        yield f"sqlite:///{workdir / 'hub.sqlite3'}"
        return
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "postgresql" or "options" in url.query:
        yield database_url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def full_gzip_harvest(federation: RemoteFederation, database_url: str | None, workdir: Path,
                      overrides: dict) -> float:
    """(e): the full harvest of a new hub over a new database, the nodes serving gzip; its time in seconds."""
    folder = workdir / "gzip"
    folder.mkdir()
    federation.serve_gzip(True)
    try:
        with bench_database(database_url, folder) as url:
            hub = Hub.build(folder / "hub", {**overrides, "database_url": url})
            for index, node in enumerate(federation.nodes):
                hub.nodes.register(node["id"], federation.base_url(index))
            started = time.perf_counter()
            report = hub.harvester.harvest()
            elapsed = time.perf_counter() - started
            assert report["counts"]["new_version"] == len(federation.nodes), report["counts"]
            hub.close()
        return elapsed
    finally:
        federation.serve_gzip(False)


def run(n_nodes: int, n_members: int, database_url: str | None, compare_gzip: bool = False) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="medmci-bench-"))
    backend = sa.engine.make_url(database_url).get_backend_name() if database_url else "sqlite"
    print(f"generating {n_nodes} nodes x {n_members} members (in another process) ...", file=sys.stderr)
    with bench_database(database_url, workdir) as url, RemoteFederation(n_nodes, n_members, workdir) as federation:
        overrides = {"database_url": url,
                     "harvest": {"allow_networks": ["127.0.0.0/8"], "workers": 8, "timeout_s": 60},
                     # Documents are signed once when generated; the run may take longer than the replay window.
                     "trust": {"signature_max_age_s": 24 * 3600}}
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
        notify_url, notify_headers = federation.notification(changed)
        started = time.perf_counter()
        hub.nodes.verify_node_request(federation.nodes[changed]["id"], "POST", notify_url, notify_headers, b"")
        hub.nodes.request_fetch(federation.nodes[changed]["id"])
        third = hub.harvester.harvest(due_only=True)
        one_changed_s = time.perf_counter() - started
        assert third["counts"]["new_version"] == 1, third["counts"]

        # The hub's own high-water mark, before the floor (which keeps every member row in memory) runs here.
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        hub.db.dispose()
        floor_s = floor_in_fresh_process(federation.nodes, url)
        floor_here_s = floor(federation.nodes, url)  # for comparison: the floor measured the way it was before
        gzip_figures = {}
        if compare_gzip:
            full_gzip_s = full_gzip_harvest(federation, database_url, workdir, overrides)
            plain, coded = federation.sizes()
            gzip_figures = {"full_gzip_s": round(full_gzip_s, 3), "full_gzip_over_full": round(full_gzip_s / full_s, 3),
                            "profile_bytes": round(plain), "profile_gzip_bytes": round(coded),
                            "gzip_ratio": round(plain / coded, 2)}
    return {"nodes": n_nodes, "members": n_members, "database": backend,
            "full_s": round(full_s, 3), "unchanged_s": round(unchanged_s, 3), "one_changed_s": round(one_changed_s, 3),
            "floor_s": round(floor_s, 3), "full_over_floor": round(full_s / floor_s, 2),
            "floor_in_hub_process_s": round(floor_here_s, 3),
            "unchanged_over_full": round(unchanged_s / full_s, 4),
            "one_changed_over_full": round(one_changed_s / full_s, 4),
            "peak_rss_mb": round(peak_rss_mb, 1), **gzip_figures,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count()},
            "date": datetime.now(UTC).isoformat(timespec="seconds")}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--json", dest="json_file", help="write the result here")
    parser.add_argument("--gzip", action="store_true", help="also (e): the full harvest again, by a new hub, with the "
                                                            "nodes serving gzip; and the profile's sizes")
    args = parser.parse_args(argv)
    result = run(args.nodes, args.members, args.database, args.gzip)
    rows = [("full harvest (a)", result["full_s"], f"{result['full_over_floor']}x floor"),
            ("unchanged (b)", result["unchanged_s"], f"{result['unchanged_over_full']:.1%} of (a)"),
            ("one changed, pushed (c)", result["one_changed_s"], f"{result['one_changed_over_full']:.1%} of (a)"),
            ("floor (d)", result["floor_s"], "in a fresh process"),
            ("floor, in the hub process", result["floor_in_hub_process_s"], "(for comparison)")]
    print(f"{result['nodes']} nodes x {result['members']} members on {result['database']}; "
          f"peak RSS of the hub process {result['peak_rss_mb']} MB")
    if args.gzip:
        rows.append(("full harvest in gzip (e)", result["full_gzip_s"], f"{result['full_gzip_over_full']:.2f}x (a)"))
    for name, seconds, ratio in rows:
        print(f"  {name:26s} {seconds:9.3f} s  {ratio}")
    if args.gzip:
        print(f"  one profile of {result['members']} members: {result['profile_bytes']:,} bytes, "
              f"{result['profile_gzip_bytes']:,} in gzip ({result['gzip_ratio']}x smaller)")
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
