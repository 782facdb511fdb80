"""A sub-clustering comparison for people: the two rule sets side by side, the moves, the findings."""

from __future__ import annotations

from ..report import table


def side_table(side: dict) -> list[str]:
    """One rule set's sub-clusters and figures, as lines."""
    balance = side["balance"]
    rows = [(row["name"], row["members"], f"{round(100 * row['share'])} %",
             " ".join(f"{country}:{n}" for country, n in row["countries"].items()) or "-", row["clusters"],
             row["knowledge_members"]) for row in side["sub_clusters"]]
    return [f"{side['label']}: {side['name']} ({side['source']})",
            *table(["SUB-CLUSTER", "MEMBERS", "SHARE", "COUNTRIES", "CLUSTERS", "KNOWLEDGE"], rows).splitlines(),
            f"in other: {side['other']}",
            f"cross-border sub-clusters: {side['cross_border_sub_clusters']} of {side['defined']}",
            f"balance: {balance['entropy']} (like {balance['effective_sub_clusters']} equal sub-clusters)",
            f"largest: {balance['largest'] or '-'} ({round(100 * balance['largest_share'])} %)"]


def side_by_side(left: list[str], right: list[str], gap: str = "  |  ") -> str:
    width = max(len(line) for line in left)
    lines = [left[i] if i < len(left) else "" for i in range(max(len(left), len(right)))]
    return "\n".join((line.ljust(width) + gap + (right[i] if i < len(right) else "")).rstrip()
                     for i, line in enumerate(lines))


def render_comparison(result: dict) -> str:
    a, b = result["rule_sets"]
    audience = "public members only" if result["audience"] == "public" else "federation members"
    title = (f"{result['metacluster_id']}: sub-clustering compared on {result['members']} chain members and "
             f"{result['knowledge_members']} knowledge members ({audience})")
    parts = [title, "=" * len(title), side_by_side(side_table(a), side_table(b)), "",
             f"Moves from A to B ({result['moved']} members change sub-cluster):",
             table(["FROM (A)", "TO (B)", "MEMBERS"], [(t["from"], t["to"], t["members"])
                                                       for t in result["transitions"]], "  ")]
    if result["movers"]:
        parts += [f"Members that move (the first {len(result['movers'])}):",
                  table(["MEMBER", "COUNTRY", "FROM", "TO", "WHY (B)"],
                        [(m["name"], m["country"], m["from"], m["to"], m["reason"]) for m in result["movers"]],
                        "  ")]
    parts += ["What B gains and loses against A:", *(f"  - {line}" for line in result["findings"])]
    return "\n".join(parts)
