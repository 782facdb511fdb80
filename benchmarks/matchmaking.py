"""Matchmaking benchmark: the top-10 partner suggestions of every member of a synthetic federation of N members.

    python -m benchmarks.matchmaking --members 200000 --json result.json [--sample 10000] [--seed 1]

Not part of the test suite. The federation is generated first (not timed): about 100 clusters in 15 countries, each
mostly on one value chain; every member offers and needs one or two NACE classes drawn from the registry (mostly
on its cluster's chain, its needs often on the stage before or after its own), with offers and needs written from
the codes' labels in English, French or Arabic (a few Arabic trade words), its stages from its codes, export markets
and languages. Then, timed: every scorer's matrices and the ``approximate`` top-10 of every member (reasons left
out: they are asked only for the suggestions shown, see ``reasons_seconds_per_1000``).

The recall@10 of the approximate method is measured against the ``exact`` one (every pair) on ``--sample`` members:
an approximate suggestion counts when its exact score reaches the exact 10th score (a tie is as good as the one it
ties with). The JSON gives ``members``, ``seconds``, ``peak_rss_mb`` (the process's peak resident memory, the
generated federation included), ``recall_at_10`` and ``sample``, ``cpu_seconds`` (the timed part's processor time,
every thread: comparable on a shared machine, where ``seconds`` is not), ``load_average`` (1, 5 and 15 minutes, at
the end of the timed part), ``exact_seconds``, ``features_seconds``, ``reasons_seconds_per_1000``, ``clusters``,
``countries``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from federation.matching import MatchMember, MatchOptions, load_scorers
from federation.matching.engine import Stack, _suggestions, approximate_rows, exact_rows
from federation.registry import Registry
from federation.settings import Settings

K = 10
COUNTRIES = ["LB", "MA", "TN", "DZ", "EG", "JO", "PS", "ES", "IT", "FR", "GR", "PT", "CY", "MT", "LV"]
MARKETS = [*COUNTRIES, "DE", "NL", "BE", "US", "GB", "SA", "AE", "QA"]
LANGUAGES = {"LB": ("ar", "fr", "en"), "MA": ("ar", "fr"), "TN": ("ar", "fr"), "DZ": ("ar", "fr"),
             "EG": ("ar", "en"), "JO": ("ar", "en"), "PS": ("ar", "en"), "FR": ("fr", "en")}
ARABIC = ["منتجات غذائية", "زيت الزيتون", "تعبئة وتغليف", "نقل وتخزين مبرد", "تصدير", "مواد خام", "آلات صناعية",
          "خدمات استشارية", "برمجيات", "نسيج وملابس", "مستحضرات تجميل", "إعادة تدوير"]
KINDS = ["sme"] * 14 + ["startup"] * 3 + ["large_company", "university", "research_centre", "support_organisation"]


def synthetic_members(registry: Registry, size: int, seed: int) -> list[MatchMember]:
    rng = random.Random(seed)
    nace = registry.taxonomies.by_scheme[registry.taxonomies.pivot]
    pivot = registry.taxonomies.pivot
    classes = sorted(c.code for c in nace.codes.values() if c.level == 4)
    chains = list(registry.value_chains.values())
    # The classes of each stage of each chain, and the stages of each class.
    stage_classes = {(chain.id, i): [c for c in classes if registry.taxonomies.under(pivot, c, stage.prefixes)]
                     for chain in chains for i, stage in enumerate(chain.stages)}
    stages_of_class: dict[str, list[tuple[str, int]]] = {}
    for stage, members_of in stage_classes.items():
        for code in members_of:
            stages_of_class.setdefault(code, []).append(stage)
    clusters = []
    for number in range(100):
        chain = rng.choice(chains)
        clusters.append((f"c{number:03d}", COUNTRIES[number % len(COUNTRIES)], chain))

    def draw(chain, near: int | None) -> tuple[str, int | None]:
        if rng.random() < 0.2:
            return rng.choice(classes), None
        index = rng.randrange(len(chain.stages)) if near is None else max(
            0, min(len(chain.stages) - 1, near + rng.choice((-1, 1))))
        pool = stage_classes[(chain.id, index)] or classes
        return rng.choice(pool), index

    def text(codes: Sequence[str], language: str) -> str:
        if language == "ar":
            return " ".join(rng.sample(ARABIC, 2))
        return "; ".join(nace.label(code, language) for code in codes)

    members = []
    for number in range(size):
        cluster, country, chain = clusters[rng.randrange(len(clusters))]
        offer, at = draw(chain, None)
        offers = [offer] + ([draw(chain, at)[0]] if rng.random() < 0.3 else [])
        needs = [draw(chain, at)[0] for _ in range(rng.randint(1, 2))]
        spoken = LANGUAGES.get(country, ("en",) if country != "ES" else ("es", "en"))
        language = rng.choice([t for t in spoken if t in ("en", "fr", "ar")] or ["en"])
        codes = offers + needs
        members.append(MatchMember(
            key=f"{cluster}/m{number}", cluster_id=cluster, node_id=cluster, country=country,
            kind=rng.choice(KINDS), name=f"Member {number}", offer_codes=tuple(offers), need_codes=tuple(needs),
            activity_codes=tuple(offers), offers_text=text(offers, language), needs_text=text(needs, language),
            stages=tuple(sorted({s for code in codes for s in stages_of_class.get(code, ())})),
            export_markets=tuple(rng.sample(MARKETS, rng.randint(0, 3))),
            languages=tuple(rng.sample(spoken, rng.randint(1, len(spoken))))))
    return members


def recall(stack: Stack, approximate: dict[int, list[tuple[float, int]]],
           exact: dict[int, list[tuple[float, int]]]) -> float:
    """Share of the exact top-10 the approximate one finds; a partner whose exact score ties the exact 10th counts."""
    found = wanted = 0
    for row, best in exact.items():
        if not best:
            continue
        kth = best[-1][0]
        cols = np.array([col for _score, col in approximate.get(row, [])], dtype=np.int64)
        scores = np.round(stack.pair_scores(np.full(len(cols), row, dtype=np.int64), cols), 6)
        found += min(len(best), int((scores >= kth - 1e-6).sum()))
        wanted += len(best)
    return found / wanted if wanted else 1.0


def run(size: int, sample: int, seed: int, options: MatchOptions | None = None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        registry = Registry.build(Settings.load(Path(folder)))
    scorers = load_scorers(registry.pm, registry.settings, registry.taxonomies, registry.value_chains)
    members = synthetic_members(registry, size, seed)
    opts = options or MatchOptions(k=K)
    started, cpu_started = time.perf_counter(), time.process_time()
    stack = Stack(members, scorers.scorers, scorers.weights, scorers.plugins)
    features_seconds = time.perf_counter() - started
    everyone = np.arange(stack.n, dtype=np.int64)
    approximate = approximate_rows(stack, everyone, opts)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    load = os.getloadavg()  # the machine's, at the end of the timed part: other jobs' share of the cores
    assert len(approximate) == stack.n
    rows = np.array(sorted(random.Random(seed).sample(range(stack.n), min(sample, stack.n))), dtype=np.int64)
    exact_started = time.perf_counter()
    exact = exact_rows(stack, rows, opts.k, opts.exact_cells, threads=opts.threads)
    exact_seconds = time.perf_counter() - exact_started
    shown = {int(row): approximate[int(row)] for row in rows[:1000]}
    reasons_started = time.perf_counter()
    _suggestions(stack, shown, opts, scorers.plugins, with_reasons=True)
    reasons_seconds = time.perf_counter() - reasons_started
    return {
        "members": stack.n,
        "clusters": len({m.cluster_id for m in members}),
        "countries": len({m.country for m in members}),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "load_average": [round(x, 2) for x in load],
        "features_seconds": round(features_seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "recall_at_10": round(recall(stack, approximate, exact), 4),
        "sample": len(rows),
        "exact_seconds": round(exact_seconds, 2),
        "reasons_seconds_per_1000": round(reasons_seconds * 1000 / max(len(shown), 1), 2),
        "suggestions_per_member": round(sum(len(v) for v in approximate.values()) / max(stack.n, 1), 2),
        "options": {"candidates": opts.candidates, "max_df_share": opts.max_df_share,
                    "heavy_feature_score": opts.heavy_feature_score, "max_heavy_df_share": opts.max_heavy_df_share,
                    "top_features": opts.top_features, "chunk_rows": opts.chunk_rows, "threads": opts.threads},
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--sample", type=int, default=10000, help="members whose exact top-10 measures the recall")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args(argv)
    result = run(args.members, args.sample, args.seed)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
