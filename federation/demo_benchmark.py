"""The demo's benchmark sample: QOOT against the clusters of 100+ members and those on agri-food, and how fresh
each cluster's data is, read over HTTP with the operator's token (``demo --json`` keys ``benchmark`` and
``freshness``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .report import table

if TYPE_CHECKING:  # pragma: no cover
    from .demo_story import HubCalls

CLUSTER = "qoot"
PEERS = ("large", "chain:agri-food")
#: The indicators the demo's text shows (``--json`` has them all).
SHOWN = ("members", "sme_share", "knowledge_share", "active_share", "member_activity_age_days", "stages_covered",
         "export_markets", "metaclusters_joined", "pilots_joined")
STATES = ("stale", "ageing", "fresh")


def benchmark_sample(call: HubCalls, token: str) -> dict:
    """``{"benchmark": QOOT's benchmark, "freshness": [cluster id, country, kind and freshness, stalest first]}``."""
    query = "&".join(f"peers={p}" for p in PEERS)
    benchmark = call("GET", f"/api/v1/clusters/{CLUSTER}/benchmark?{query}", token)
    clusters = call("GET", "/api/v1/clusters?page_size=1000", token)
    freshness = [{"id": c["id"], "country": c["country"], "kind": c["kind"], **c["freshness"]}
                 for c in clusters if c.get("freshness")]
    freshness.sort(key=lambda f: (STATES.index(f["state"]), -(f["last_version_age_days"] or 0), f["id"]))
    return {"benchmark": benchmark, "freshness": freshness}


def _figure(value, unit: str) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.0f}%" if unit == "share" else f"{value:g}"


def render_benchmark_sample(sample: dict) -> str:
    """The sample as text: a few of QOOT's indicators against each peer group, then the freshness list."""
    benchmark = sample["benchmark"]
    groups = benchmark["peer_groups"]
    rows = []
    for row in benchmark["indicators"]:
        if row["name"] not in SHOWN:
            continue
        cells = [row["label"], _figure(row["value"], row["unit"])]
        for group in groups:
            stats = row["peers"][group["name"]]
            cells.append("-" if stats["percentile"] is None else
                         f"{stats['percentile']:.0f} (median {_figure(stats['median'], row['unit'])}, n={stats['n']})")
        rows.append(cells)
    cluster = benchmark["cluster"]
    lines = ["", f"{cluster['name']} benchmarked ({cluster['members']} members; percentile among the peers, "
                 f"`medmci hub benchmark {CLUSTER}` for all {len(benchmark['indicators'])} indicators):",
             table(["INDICATOR", "VALUE", *(f"vs {g['name']}" for g in groups)], rows, "  ")]
    for group in groups:
        lines.append(f"  {group['name']}: {group['label']}: {', '.join(group['clusters']) or 'none'}")
    lines += ["", "How fresh each cluster's data is (stalest first):",
              table(["CLUSTER", "COUNTRY", "STATE", "VERSION AGE (DAYS)", "MEMBER ACTIVITY (MEDIAN DAYS)"],
                    [(f["id"], f["country"], f["state"], f["last_version_age_days"],
                      _figure(f["members_last_active_median_days"], "days")) for f in sample["freshness"]], "  ")]
    return "\n".join(lines)
