"""The matchmaking benchmark runs end to end on a small federation and reports what it promises."""

from __future__ import annotations

import json

from benchmarks import matchmaking
from federation.matching import MatchOptions


def test_the_benchmark_reports_its_keys_and_full_recall_where_pruning_cannot_bite(tmp_path):
    # Nothing pruned and every candidate scored exactly: the approximate method is the exact one.
    options = MatchOptions(max_df_share=1.0, max_heavy_df_share=1.0, top_features=10**6, candidates=10**6)
    result = matchmaking.run(300, sample=300, seed=2, options=options)
    assert {"members", "seconds", "peak_rss_mb", "recall_at_10"} <= set(result)
    assert result["members"] == 300 and result["sample"] == 300
    assert result["countries"] == 15 and result["clusters"] > 90
    assert result["recall_at_10"] == 1.0
    assert result["suggestions_per_member"] == 10
    assert result["peak_rss_mb"] > 0 and result["seconds"] > 0


def test_the_command_writes_the_json(tmp_path, capsys):
    out = tmp_path / "result.json"
    assert matchmaking.main(["--members", "300", "--sample", "100", "--json", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["members"] == 300 and 0 < written["recall_at_10"] <= 1
    assert json.loads(capsys.readouterr().out) == written
