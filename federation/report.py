"""Readable text for people: meta-cluster tables for the CLI and the demo."""

from __future__ import annotations

from collections.abc import Iterable

from .display import shown


def table(headers: list[str], rows: Iterable[Iterable], indent: str = "") -> str:
    cells = [[shown(c) for c in row] for row in rows]  # often what nodes wrote: escaped, one line each
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = indent + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip(), indent + "  ".join("-" * w for w in widths)]
    # A row may carry more cells than there are headers: the extra cells are not shown.
    out += [(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False))).rstrip() for r in cells]
    return "\n".join(out)


def metaclusters_summary(metaclusters: list[dict]) -> str:
    if not metaclusters:
        return "No meta-cluster formed."
    rows = [(m["id"], m["value_chain"], " ".join(m["countries"]), len(m["clusters"]),
             sum(len(s["members"]) for s in m["sub_clusters"]), len(m["knowledge_members"]),
             ", ".join(m["gaps"]) or "-") for m in metaclusters]
    return table(["META-CLUSTER", "VALUE CHAIN", "COUNTRIES", "CLUSTERS", "MEMBERS", "KNOWLEDGE", "GAPS"], rows)


def metacluster_detail(m: dict) -> str:
    title = f"{m['id']}: {m['value_chain_names'].get('en', m['value_chain'])} ({', '.join(m['countries'])})"
    parts = [title, "=" * len(title)]
    parts.append("Clusters:")
    parts.append(table(["CLUSTER", "COUNTRY", "ON CHAIN", "WHY"],
                       [(c["name"], c["country"], c["members_on_chain"],
                         "; ".join(d["reason"] for d in c["decisions"])) for c in m["clusters"]], "  "))
    if m.get("excluded_clusters"):
        parts.append("Not taking part:")
        parts.append(table(["CLUSTER", "COUNTRY", "WHY NOT"],
                           [(c["name"], c["country"], "; ".join(d["reason"] for d in c["decisions"]
                                                               if not d["passed"])) for c in m["excluded_clusters"]],
                           "  "))
    countries = m["countries"]
    parts.append("Stage coverage:")
    parts.append(table(["STAGE", *countries],
                       [[stage] + ["x" if c in covered else "." for c in countries]
                        for stage, covered in m["stage_coverage"].items()], "  "))
    parts.append(f"Gaps (no country covers): {', '.join(m['gaps']) or 'none'}")
    parts.append("Sub-clusters:")
    parts.append(table(["SUB-CLUSTER", "MEMBERS", "BY COUNTRY"],
                       [(s["name"], len(s["members"]), _by_country(s["members"], m)) for s in m["sub_clusters"]],
                       "  "))
    parts.append(f"Knowledge members ({len(m['knowledge_members'])}):")
    parts.append(table(["NAME", "KIND", "COUNTRY", "CLUSTER"],
                       [(k["name"], k["kind"], k["country"], k["cluster_id"]) for k in m["knowledge_members"]], "  "))
    return "\n".join(parts)


def _by_country(member_ids: list[str], m: dict) -> str:
    country_of = {e["id"]: e["country"] for e in m.get("members", [])}
    counts: dict[str, int] = {}
    for member_id in member_ids:
        country = country_of.get(member_id, "?")
        counts[country] = counts.get(country, 0) + 1
    return " ".join(f"{c}:{n}" for c, n in sorted(counts.items()))


def not_formed_summary(assessments: list[dict]) -> str:
    rows = [(a["value_chain"], "; ".join(d["reason"] for d in a["decisions"] if not d["passed"]))
            for a in assessments]
    return table(["VALUE CHAIN", "WHY NO META-CLUSTER"], rows)
