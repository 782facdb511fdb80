"""``medmci hub benchmark CLUSTER`` (a cluster's indicators against its peers, as a table, a chart or JSON) and
``medmci hub freshness`` (how fresh each cluster's data is, stalest first). Both read as a federation reader: the
command line runs on the hub's own machine."""

from __future__ import annotations

from pathlib import Path

import click

from ..report import table
from .context import open_hub
from .output import dump, when


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "share":
        return f"{100 * value:.0f}%"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _percentile(stats: dict) -> str:
    return "-" if stats["percentile"] is None else f"{stats['percentile']:.0f}"


def render_benchmark(benchmark: dict) -> str:
    """The benchmark as people read it: per indicator, the value, its percentile against each peer group, and each
    group's median, quartiles and number of peers; then what each group is."""
    cluster = benchmark["cluster"]
    groups = [g["name"] for g in benchmark["peer_groups"]]
    headers = ["INDICATOR", "VALUE"]
    for name in groups:
        headers += [f"PCT {name}", f"MEDIAN (Q1-Q3) {name}", "N"]
    rows = []
    for row in benchmark["indicators"]:
        arrow = {True: " +", False: " -", None: ""}[row["higher_is_better"]]
        cells = [row["label"] + arrow, _figure(row["value"], row["unit"])]
        for name in groups:
            stats = row["peers"][name]
            spread = "-" if stats["median"] is None else (
                f"{_figure(stats['median'], row['unit'])} ({_figure(stats['q1'], row['unit'])}-"
                f"{_figure(stats['q3'], row['unit'])})")
            cells += [_percentile(stats), spread, stats["n"]]
        rows.append(cells)
    lines = [f"{cluster['name']} ({cluster['id']}, {cluster['country']}): {cluster['members']} members, as of "
             f"{benchmark['as_of']} ({benchmark['audience']} data)", "", table(headers, rows), "",
             "+ higher is better, - lower is better; PCT: percentile among the peers (0-100); below "
             f"{benchmark['min_peers']} peers with a value no percentile or quartiles are given."]
    for group in benchmark["peer_groups"]:
        members = ", ".join(group["clusters"]) or "none"
        lines.append(f"{group['name']}: {group['label']}: {len(group['clusters'])} clusters ({members})")
    return "\n".join(lines)


def render_freshness(clusters: list[dict]) -> str:
    """One line per cluster, stalest first: its state, ages and why."""
    if not clusters:
        return "No cluster at the hub yet."
    rows = []
    for c in clusters:
        f = c["freshness"]
        median = f["members_last_active_median_days"]
        without = f["members_without_last_active_share"]
        rows.append((c["id"], c["country"], f["state"], f["last_version_age_days"], when(f["last_fetch_at"]),
                     when(f["stale_since"]), "-" if median is None else f"{median:g}",
                     "-" if without is None else f"{100 * without:.0f}%", "; ".join(f["why"]) or "-"))
    return table(["CLUSTER", "COUNTRY", "STATE", "VERSION AGE (DAYS)", "LAST FETCH", "STALE SINCE",
                  "MEMBER ACTIVITY AGE (MEDIAN DAYS)", "NO LAST ACTIVE", "WHY"], rows)


@click.command("benchmark")
@click.argument("cluster")
@click.option("--peers", multiple=True, metavar="GROUP",
              help="A peer group besides the whole federation (repeatable): large, chain:<value chain>, "
                   "countries:<group> (eu, mena, or one of benchmark.country_groups).")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the chart (PNG): the percentile per indicator over the peers' middle half.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the table.")
@click.pass_context
def hub_benchmark(ctx, cluster, peers, chart, as_json):
    """A cluster's indicators against the whole federation and the peer groups asked: value, percentile, the
    peers' median and quartiles, and how many peers."""
    benchmark = open_hub(ctx).benchmarks.benchmark(cluster, peers, federation=True)
    if chart is not None:
        from ..benchmarking.chart import draw_benchmark

        chart.write_bytes(draw_benchmark(benchmark))
    click.echo(dump(benchmark) if as_json else render_benchmark(benchmark))
    if chart is not None and not as_json:
        click.echo(f"chart written to {chart}")


@click.command("freshness")
@click.option("--json", "as_json", is_flag=True, help="One JSON list instead of the table.")
@click.pass_context
def hub_freshness(ctx, as_json):
    """How fresh each cluster's data is (last accepted version, last fetch, failing since, members' last
    activity), stalest first."""
    from ..hub.freshness import stalest_first

    clusters = stalest_first([c for c in open_hub(ctx).queries.clusters(True) if c["freshness"] is not None])
    if as_json:
        click.echo(dump([{"id": c["id"], "node_id": c["node_id"], "kind": c["kind"], "country": c["country"],
                          **c["freshness"]} for c in clusters]))
        return
    click.echo(render_freshness(clusters))


def benchmark_commands() -> tuple[click.Command, ...]:
    return hub_benchmark, hub_freshness
