"""The pilot report: one pilot, from its meta-cluster to its outcomes, as a self-contained HTML file and as Markdown
with its charts as PNG files next to it. Built from a plain dict (the pilots service makes it); no database here.

The report dict::

    {"generated_at": "2025-06-30T09:00:00+00:00", "language": "en",
     "pilot": {"id", "name", "goal", "status": "proposed" | "active" | "closed",
               "created_at", "activated_at", "closed_at",          # ISO dates or timestamps; None when not yet
               "coordinator": {"node_id", "name", "country"}},
     "metacluster": {"id", "value_chain", "name", "countries": [CC], "stages": [{"id", "name"}]},
     "participants": [{"id", "kind": "cluster" | "knowledge", "name", "country",
                       "status": "invited" | "accepted" | "declined" | "taking_part", "answered_at"}],
     "teams": [{"name", "members": [{"id", "name", "country", "kind"}], "score": 0..1, "reasons": [str],
                "edited": bool}],                                  # edited: changed by hand after the suggestion
     "activities": [{"date", "kind": "meeting" | "training" | "benchmarking_visit" | "market_mission" | "other",
                     "title", "participants": [names], "notes"}],
     "outcomes": [{"date", "kind": "mou" | "joint_project" | "funding_application" | "new_member" | "other",
                   "title", "participants": [names], "link"}],     # link: a URL or None; shown as a link if http(s)
     "representation": {"start": R | None, "now": R | None}}       # None: no figures were kept then / are known now

where R is the meta-cluster's scientific representation (federation/science/representation.py)::

    {"knowledge_per_100_members": float,
     "by_country": {CC: {"members": int, "knowledge": int, "per_100": float}},
     "by_stage": {stage_id: {"knowledge": int, "countries": [CC],
                             "by_country": {CC: int}}},            # by_country optional: the heatmap's counts
     "triple_helix": {"companies": int, "knowledge": int, "public_support": int,
                      "shares": {"companies": 0..1, "knowledge": 0..1, "public_support": 0..1}},
     "unsupported": [{"stage": stage_id, "country": CC}]}          # no knowledge support for the stage in the country

Without ``by_country`` in ``by_stage`` the heatmap shows where each stage is supported (1) or not (0) instead of
counts. Every text that came from a node (names, titles, notes, reasons) is untrusted: the HTML template escapes it
(Jinja autoescape) and the Markdown template escapes it as Markdown (:func:`markdown_text`), so a name reads as the
text it is; both write control and bidi characters escaped (federation.text). Unknown kinds and statuses are shown
as they are, escaped.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from ..errors import BadRequest
from ..text import escaped
from .charts import Chart, draw_charts

FORMATS = ("html", "md")
#: Languages written right to left: the HTML report's ``dir``.
RTL_LANGUAGES = frozenset({"ar", "dv", "fa", "he", "ps", "ur", "yi"})
NONE_YET = "None yet."
NO_START = "No figures were kept at the start."
NO_NOW = "No figures are known now."
NO_FIGURES = "No scientific-representation figures are known for this meta-cluster."
MISSING = "-"
MAX_LINK = 2000
LABELS = {
    "proposed": "Proposed", "active": "Active", "closed": "Closed",
    "invited": "Invited", "accepted": "Accepted", "declined": "Declined", "taking_part": "Taking part",
    "cluster": "Cluster", "knowledge": "Knowledge entity", "member": "Member",
    "meeting": "Meeting", "training": "Training", "benchmarking_visit": "Benchmarking visit",
    "market_mission": "Market mission", "other": "Other",
    "mou": "Memorandum of understanding", "joint_project": "Joint project",
    "funding_application": "Funding application", "new_member": "New member",
}
HELIX = (("companies", "Companies"), ("knowledge", "Knowledge entities"), ("public_support", "Public support"))


@dataclass(frozen=True)
class Link:
    """A cell that is a link: ``href`` is an http(s) URL checked by :func:`safe_link`."""

    text: str
    href: str


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str | Link]]


def render_html(report: Mapping) -> str:
    """The report as one HTML file: charts embedded as data: URIs, no external resource, a print stylesheet."""
    return _html(_view(report, _charts(report)))


def render_markdown(report: Mapping, folder: Path) -> Path:
    """report.md in ``folder`` (created if needed) with its chart PNG files next to it; returns report.md's path."""
    return _write_markdown(_view(report, _charts(report)), Path(folder))[0]


def write_report(report: Mapping, folder: Path, formats: Iterable[str] = FORMATS) -> list[Path]:
    """The report in each of ``formats`` (html: report.html; md: report.md and its PNG files) in ``folder``; returns
    every file written. The charts are drawn once for all formats."""
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        said = ", ".join(map(escaped, unknown)) or "none"
        raise BadRequest(f"report formats are {', '.join(FORMATS)}; got {said}")
    view = _view(report, _charts(report))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if "html" in wanted:
        html_path = folder / "report.html"
        html_path.write_text(_html(view), encoding="utf-8")
        written.append(html_path)
    if "md" in wanted:
        written += _write_markdown(view, folder)
    return written


# ------------------------------------------------------------------------------------------------ escaping


MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]<>#!|~&]")
#: What would start a list item, a thematic break or a setext underline at the start of a line (a number then "."
#: or ")" only before a space: "4.3" is a number).
LINE_START = re.compile(r"^(?:([-+=])(?=[\s=+-]|$)|(\d{1,9})([.)])(?=\s|$))")


def markdown_text(value) -> str:
    """Untrusted text as Markdown that shows it literally, on one line: whitespace (line breaks too) collapsed,
    control and bidi characters escaped, every character that could start markup (emphasis, code, links, images,
    HTML, entities, headings, tables) backslash-escaped, and a leading list or heading marker too."""
    text = escaped(" ".join(str(value).split()))
    text = MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    return LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), text)


def safe_link(value) -> str | None:
    """``value`` if it is an absolute http(s) URL a reader may follow (no spaces, controls or angle brackets, at
    most MAX_LINK characters), else None: a javascript: or data: link from a node is shown as text."""
    if not isinstance(value, str) or not value or len(value) > MAX_LINK:
        return None
    if any(c.isspace() or not c.isprintable() or c in "<>\"'`\\" for c in value):
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _html_finalize(value):
    if isinstance(value, Markup):
        return value
    return escaped(value, keep_layout=True) if isinstance(value, str) else value


def _markdown_finalize(value):
    if isinstance(value, Markup):  # a macro's output, or |trusted
        return value
    return Markup(markdown_text(value) if value is not None else MISSING)  # noqa: S704 (escaped as Markdown)


@cache
def _environment(kind: str) -> jinja2.Environment:
    # HTML: autoescape, and finalize writes control and bidi characters escaped. Markdown: finalize escapes every
    # {{ }} as Markdown and marks it Markup, so autoescape's HTML escaping leaves it alone; a macro's output (Markup)
    # and |trusted values (our own markup: chart paths, checked links) pass as they are.
    env = jinja2.Environment(loader=jinja2.PackageLoader("federation.pilots", "templates"), autoescape=True,
                             finalize=_html_finalize if kind == "html" else _markdown_finalize,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["trusted"] = Markup
    env.tests["link"] = lambda cell: isinstance(cell, Link)
    return env


def _html(view: dict) -> str:
    charts = [{"title": c.title, "alt": c.alt, "src": "data:image/png;base64," + base64.b64encode(c.png).decode()}
              for c in view["charts"]]
    return _environment("html").get_template("report.html.j2").render(view, charts=charts)


def _write_markdown(view: dict, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for chart in view["charts"]:
        (folder / chart.filename).write_bytes(chart.png)
        written.append(folder / chart.filename)
    path = folder / "report.md"
    path.write_text(_environment("md").get_template("report.md.j2").render(view, charts=view["charts"]),
                    encoding="utf-8")
    return [path, *written]


# ------------------------------------------------------------------------------------------------ the view


def _charts(report: Mapping) -> list[Chart]:
    representation = report["representation"]
    return draw_charts(_stages(report), _countries(report), representation.get("start"), representation.get("now"))


def _stages(report: Mapping) -> list[tuple[str, str]]:
    """(id, name) of the chain's stages in its order, then any stage only the figures name."""
    stages = [(s["id"], s.get("name") or s["id"]) for s in report["metacluster"].get("stages") or ()]
    known = {s for s, _ in stages}
    representation = report["representation"]
    extra = {s for r in (representation.get("start"), representation.get("now")) if r
             for s in r.get("by_stage") or {} if s not in known}
    return stages + [(s, s) for s in sorted(extra)]


def _countries(report: Mapping) -> list[str]:
    """The meta-cluster's countries in its order, then any country only the figures name."""
    countries = list(report["metacluster"].get("countries") or ())
    representation = report["representation"]
    extra = {c for r in (representation.get("start"), representation.get("now")) if r
             for c in r.get("by_country") or {} if c not in countries}
    return countries + sorted(extra)


def _view(report: Mapping, charts: list[Chart]) -> dict:
    pilot, metacluster = report["pilot"], report["metacluster"]
    language = str(report.get("language") or "en")
    participants = list(report.get("participants") or ())
    teams = list(report.get("teams") or ())
    activities, outcomes = list(report.get("activities") or ()), list(report.get("outcomes") or ())
    stage_names = dict(_stages(report))
    return {
        "language": language,
        "direction": "rtl" if language.split("-", maxsplit=1)[0].lower() in RTL_LANGUAGES else "ltr",
        "generated_at": report.get("generated_at") or MISSING,
        "pilot": pilot,
        "none_yet": NONE_YET,
        "summary": _summary(report, participants, teams, activities, outcomes),
        "metacluster": [
            ("Meta-cluster", f"{metacluster.get('name') or metacluster['id']} ({metacluster['id']})"),
            ("Value chain", metacluster.get("value_chain") or MISSING),
            ("Countries", ", ".join(metacluster.get("countries") or ()) or MISSING),
            ("Stages", ", ".join(name for _, name in _stages(report)) or MISSING),
        ],
        "participants": Table(["Name", "Kind", "Country", "Status", "Answered"],
                              [[p["name"], _label(p.get("kind")), p.get("country") or MISSING,
                                _label(p.get("status")), _day(p.get("answered_at"))] for p in participants]),
        "teams": [{"name": t["name"], "score": _number(t.get("score"), 2), "edited": bool(t.get("edited")),
                   "members": [f"{m['name']} ({m.get('country') or MISSING}, {_label(m.get('kind'))})"
                               for m in t.get("members") or ()],
                   "reasons": list(t.get("reasons") or ())} for t in teams],
        "activities": Table(["Date", "Kind", "Title", "Participants", "Notes"],
                            [[_day(a.get("date")), _label(a.get("kind")), a["title"],
                              ", ".join(a.get("participants") or ()) or MISSING, a.get("notes") or MISSING]
                             for a in activities]),
        "outcomes": Table(["Date", "Kind", "Title", "Participants", "Link"],
                          [[_day(o.get("date")), _label(o.get("kind")), o["title"],
                            ", ".join(o.get("participants") or ()) or MISSING, _link_cell(o.get("link"))]
                           for o in outcomes]),
        "representation": _representation(report["representation"], _countries(report), stage_names),
        "charts": charts,
    }


def _summary(report, participants, teams, activities, outcomes) -> list[tuple[str, str]]:
    pilot, metacluster = report["pilot"], report["metacluster"]
    coordinator = pilot.get("coordinator") or {}
    by_status: dict[str, int] = {}
    for p in participants:
        by_status[p.get("status")] = by_status.get(p.get("status"), 0) + 1
    said = ", ".join(f"{by_status[s]} {_label(s).lower()}" for s in sorted(by_status, key=_status_order))
    knowledge = sum(1 for p in participants if p.get("kind") == "knowledge")
    start, now = report["representation"].get("start"), report["representation"].get("now")
    figures = {moment: _number(r.get("knowledge_per_100_members"), 1) + f" {moment}"
               for moment, r in (("at the start", start), ("now", now)) if r is not None}
    if not figures:
        per_100 = NO_FIGURES[:-1]
    elif start is None:
        per_100 = f"{figures['now']} ({NO_START[0].lower()}{NO_START[1:-1]})"
    elif now is None:
        per_100 = f"{figures['at the start']} ({NO_NOW[0].lower()}{NO_NOW[1:-1]})"
    else:
        per_100 = ", ".join(figures.values())
    return [
        ("Pilot", f"{pilot['name']} ({pilot['id']})"),
        ("Status", _label(pilot.get("status"))),
        ("Goal", pilot.get("goal") or MISSING),
        ("Coordinator", f"{coordinator.get('name') or MISSING} ({coordinator.get('country') or MISSING})"),
        ("Meta-cluster", f"{metacluster.get('name') or metacluster['id']} ({metacluster['id']})"),
        ("Proposed", _day(pilot.get("created_at"))),
        ("Active since", _day(pilot.get("activated_at"))),
        ("Closed", _day(pilot.get("closed_at"))),
        ("Participants", f"{len(participants)} ({said})" if participants else "0"),
        ("Knowledge entities among the participants", str(knowledge)),
        ("Countries", ", ".join(sorted({p["country"] for p in participants if p.get("country")})) or MISSING),
        ("Teams", str(len(teams))),
        ("Activities", str(len(activities))),
        ("Outcomes", str(len(outcomes))),
        ("Knowledge members per 100 members", per_100),
    ]


def _representation(representation: Mapping, countries: Sequence[str], stage_names: Mapping[str, str]) -> dict:
    start, now = representation.get("start"), representation.get("now")
    moments = [(m, r) for m, r in (("at the start", start), ("now", now)) if r is not None]

    def country_cells(r, country):
        entry = (r.get("by_country") or {}).get(country) or {}
        return [_number(entry.get("members"), 0), _number(entry.get("knowledge"), 0), _number(entry.get("per_100"), 1)]

    def stage_cells(r, stage):
        entry = (r.get("by_stage") or {}).get(stage) or {}
        return [_number(entry.get("knowledge"), 0), ", ".join(entry.get("countries") or ()) or MISSING]

    def helix_cells(r, key):
        helix = r.get("triple_helix") or {}
        share = (helix.get("shares") or {}).get(key)
        return [_number(helix.get(key), 0), MISSING if share is None else f"{float(share) * 100:.0f}%"]

    def gaps(r):
        return "; ".join(f"{stage_names.get(g['stage'], g['stage'])} in {g['country']}"
                         for g in r.get("unsupported") or ()) or "none"

    return {
        "known": bool(moments),
        "notes": [note for note, missing in ((NO_START, start is None), (NO_NOW, now is None)) if missing],
        "no_figures": NO_FIGURES,
        "overall": Table(["", *[m.capitalize() for m, _ in moments]],
                         [["Knowledge members per 100 members",
                           *[_number(r.get("knowledge_per_100_members"), 1) for _, r in moments]]]),
        "by_country": Table(["Country", *[f"{h} ({m})" for m, _ in moments
                                          for h in ("Members", "Knowledge", "Per 100")]],
                            [[c, *[v for _, r in moments for v in country_cells(r, c)]] for c in countries]),
        "by_stage": Table(["Stage", *[f"{h} ({m})" for m, _ in moments for h in ("Knowledge", "Countries")]],
                          [[name, *[v for _, r in moments for v in stage_cells(r, s)]]
                           for s, name in stage_names.items()]),
        "triple_helix": Table(["", *[f"{h} ({m})" for m, _ in moments for h in ("Count", "Share")]],
                              [[label, *[v for _, r in moments for v in helix_cells(r, key)]]
                               for key, label in HELIX]),
        "unsupported": [(m.capitalize(), gaps(r)) for m, r in moments],
    }


def _status_order(status) -> int:
    order = ("taking_part", "accepted", "invited", "declined")
    return order.index(status) if status in order else len(order)


def _label(value) -> str:
    return LABELS.get(value, MISSING if value is None else str(value))


def _number(value, decimals: int) -> str:
    if value is None:
        return MISSING
    return f"{float(value):.{decimals}f}" if decimals else str(int(value))


def _day(value) -> str:
    """The date part of an ISO date or timestamp; anything else as it is (escaped where shown)."""
    if value is None or value == "":
        return MISSING
    try:
        return datetime.fromisoformat(str(value)).date().isoformat()
    except ValueError:
        return str(value)


def _link_cell(value) -> str | Link:
    href = safe_link(value)
    if href is not None:
        return Link(href, href)
    return MISSING if value in (None, "") else str(value)
