"""The demo's funding calls: the hub team imports the sample calls (``config/demo/funding_calls.json``, illustrative
samples of real programmes with made-up 2027 deadlines) and asks which ones the agri-food meta-cluster may apply
to; for the others, what is missing and who in the federation could fill the gap. Over HTTP, with the operator's
token, like the rest of the story (``federation/demo_story.py``)."""

from __future__ import annotations

import json
from typing import Any

from .display import shown
from .settings import default_config_dir

#: The sample calls, and the meta-cluster the demo checks them for.
SAMPLE_FILE = ("demo", "funding_calls.json")
METACLUSTER = "mc-agri-food"


def funding_sample(call: Any, operator: str) -> dict:
    """Import the sample calls and check the agri-food meta-cluster: ``{"imported", "metacluster", "consortium",
    "eligible": [calls], "not_eligible": [calls with "gaps", each with "candidates"]}``."""
    calls = json.loads(default_config_dir().joinpath(*SAMPLE_FILE).read_text(encoding="utf-8"))
    imported = call("POST", "/api/v1/calls", operator, calls)
    answer = call("GET", f"/api/v1/calls/eligible?metacluster={METACLUSTER}", operator)
    return {"imported": imported["calls"], "metacluster": METACLUSTER, "consortium": answer["consortium"],
            "eligible": [_call(c) for c in answer["eligible"]],
            "not_eligible": [{**_call(c), "gaps": c["gaps"]} for c in answer["not_eligible"]]}


def _call(call: dict) -> dict:
    return {key: call[key] for key in ("id", "programme", "title", "deadline", "link")}


def render_funding(sample: dict | None) -> str:
    """The sample as text: the eligible calls, then the others with their gaps and candidates."""
    if not sample:
        return ""
    consortium = sample["consortium"]
    lines = ["", f"Funding calls ({sample['imported']} illustrative samples imported) for {sample['metacluster']}: "
                 f"{consortium['partners']} partners from {', '.join(consortium['countries'])}."]
    for call in sample["eligible"]:
        lines.append(f"  eligible: {shown(call['programme'])}: {shown(call['title'])} (deadline {call['deadline']})")
    for call in sample["not_eligible"]:
        lines.append(f"  not yet:  {shown(call['programme'])}: {shown(call['title'])} (deadline {call['deadline']})")
        for gap in call["gaps"]:
            names = ", ".join(f"{shown(c['name'])} ({c['country']})" for c in gap["candidates"])
            lines.append(f"    - {shown(gap['text'])}" + (f"; could fill it: {names}" if names else ""))
    return "\n".join(lines)
