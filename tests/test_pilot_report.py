"""The pilot report (federation/pilots/report.py, charts.py): a realistic pilot renders to HTML and Markdown with
every section and its numbers, the charts are real PNGs, text from nodes stays text in both formats, two renders are
byte-identical, and a pilot without figures at the start, teams or activities still renders."""

from __future__ import annotations

import base64
import copy
import re
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from federation.errors import BadRequest
from federation.pilots.charts import stage_grid
from federation.pilots.report import markdown_text, render_html, render_markdown, safe_link, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STAGES = [{"id": "production", "name": "Production"}, {"id": "processing", "name": "Processing"},
          {"id": "packaging", "name": "Packaging"}, {"id": "distribution", "name": "Distribution"}]


def representation(per_100: dict[str, tuple[int, int]], by_stage: dict[str, dict[str, int]],
                   unsupported: list[tuple[str, str]]) -> dict:
    """R as the science core gives it, from (members, knowledge) per country and knowledge per (stage, country)."""
    members = sum(m for m, _ in per_100.values())
    knowledge = sum(k for _, k in per_100.values())
    companies = members - knowledge - 2
    return {
        "knowledge_per_100_members": round(100 * knowledge / members, 1),
        "by_country": {c: {"members": m, "knowledge": k, "per_100": round(100 * k / m, 1)}
                       for c, (m, k) in per_100.items()},
        "by_stage": {s: {"knowledge": sum(counts.values()), "countries": sorted(c for c, n in counts.items() if n),
                         "by_country": counts} for s, counts in by_stage.items()},
        "triple_helix": {"companies": companies, "knowledge": knowledge, "public_support": 2,
                         "shares": {"companies": companies / members, "knowledge": knowledge / members,
                                    "public_support": 2 / members}},
        "unsupported": [{"stage": s, "country": c} for s, c in unsupported],
    }


def olive_oil_pilot() -> dict:
    """An olive-oil pilot: QOOT (LB), Menara (MA), 2TS (TN), two EU clusters and a university."""
    start = representation(
        {"LB": (40, 1), "MA": (55, 2), "TN": (30, 0), "IT": (60, 4), "ES": (50, 3)},
        {"production": {"LB": 1, "MA": 1, "TN": 0, "IT": 2, "ES": 1},
         "processing": {"LB": 0, "MA": 1, "TN": 0, "IT": 1, "ES": 1},
         "packaging": {"LB": 0, "MA": 0, "TN": 0, "IT": 1, "ES": 1},
         "distribution": {"LB": 0, "MA": 0, "TN": 0, "IT": 0, "ES": 0}},
        [("processing", "TN"), ("processing", "LB"), ("packaging", "MA")])
    now = representation(
        {"LB": (42, 3), "MA": (55, 3), "TN": (31, 2), "IT": (60, 4), "ES": (50, 3)},
        {"production": {"LB": 2, "MA": 1, "TN": 1, "IT": 2, "ES": 1},
         "processing": {"LB": 1, "MA": 2, "TN": 1, "IT": 1, "ES": 1},
         "packaging": {"LB": 0, "MA": 0, "TN": 0, "IT": 1, "ES": 1},
         "distribution": {"LB": 0, "MA": 0, "TN": 0, "IT": 0, "ES": 0}},
        [("packaging", "MA")])
    return {
        "generated_at": "2025-06-30T09:00:00+00:00", "language": "en",
        "pilot": {"id": "olive-oil-2025", "name": "Olive oil quality and export", "goal":
                  "Joint quality labs and a first market mission to the EU for Lebanese, Moroccan and Tunisian oil.",
                  "status": "active", "created_at": "2025-01-15T10:00:00+00:00",
                  "activated_at": "2025-02-01T08:30:00+00:00", "closed_at": None,
                  "coordinator": {"node_id": "qoot", "name": "QOOT", "country": "LB"}},
        "metacluster": {"id": "mc-agri-food-1", "value_chain": "agri-food", "name": "Agri-food (olive oil)",
                        "countries": ["LB", "MA", "TN", "IT", "ES"], "stages": STAGES},
        "participants": [
            {"id": "qoot", "kind": "cluster", "name": "QOOT", "country": "LB", "status": "taking_part",
             "answered_at": "2025-01-20T12:00:00+00:00"},
            {"id": "menara", "kind": "cluster", "name": "Menara Cluster", "country": "MA", "status": "taking_part",
             "answered_at": "2025-01-22"},
            {"id": "2ts", "kind": "cluster", "name": "2TS", "country": "TN", "status": "accepted",
             "answered_at": "2025-01-25"},
            {"id": "olivenet", "kind": "cluster", "name": "Olivenet Puglia", "country": "IT",
             "status": "taking_part", "answered_at": "2025-01-21"},
            {"id": "agroandalus", "kind": "cluster", "name": "AgroAndalus", "country": "ES", "status": "declined",
             "answered_at": "2025-01-30"},
            {"id": "hosted:usek", "kind": "knowledge", "name": "Université Saint-Esprit de Kaslik", "country": "LB",
             "status": "invited", "answered_at": None},
        ],
        "teams": [
            {"name": "Quality labs", "score": 0.84, "edited": False,
             "members": [{"id": "qoot", "name": "QOOT", "country": "LB", "kind": "cluster"},
                         {"id": "olivenet", "name": "Olivenet Puglia", "country": "IT", "kind": "cluster"},
                         {"id": "hosted:usek", "name": "Université Saint-Esprit de Kaslik", "country": "LB",
                          "kind": "knowledge"}],
             "reasons": ["EU and MENA: IT with LB", "USEK offers testing that QOOT members need (NACE 71.20)"]},
            {"name": "Export to the EU", "score": 0.71, "edited": True,
             "members": [{"id": "menara", "name": "Menara Cluster", "country": "MA", "kind": "cluster"},
                         {"id": "2ts", "name": "2TS", "country": "TN", "kind": "cluster"}],
             "reasons": ["both name export among their priority topics"]},
        ],
        "activities": [
            {"date": "2025-03-12", "kind": "meeting", "title": "Kick-off in Beirut",
             "participants": ["QOOT", "Menara Cluster", "2TS"], "notes": "Agreed on two teams.\nNext: lab visit."},
            {"date": "2025-05-06", "kind": "benchmarking_visit", "title": "Visit to the Bari oil lab",
             "participants": ["QOOT", "Olivenet Puglia"], "notes": None},
        ],
        "outcomes": [
            {"date": "2025-06-02", "kind": "mou", "title": "MoU on shared quality testing",
             "participants": ["QOOT", "Olivenet Puglia"], "link": "https://example.org/mou-quality"},
            {"date": "2025-06-20", "kind": "funding_application", "title": "PRIMA application",
             "participants": ["Menara Cluster", "2TS"], "link": None},
        ],
        "representation": {"start": start, "now": now},
    }


@pytest.fixture
def report() -> dict:
    return olive_oil_pilot()


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> list[Path]:
    """The realistic report written once in both formats (charts take a second or two to draw)."""
    return write_report(olive_oil_pilot(), tmp_path_factory.mktemp("written"))


@pytest.fixture(scope="module")
def html(written) -> str:
    return written[0].read_text(encoding="utf-8")


class Page(HTMLParser):
    """The parts of an HTML page the tests read: text per section, attributes of <html>, images, links, scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, str] = {}
        self.section: str | None = None
        self.html_attrs: dict[str, str | None] = {}
        self.images: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.handle_endtag(tag)  # a space between elements, so cells and terms read as words
        self.tags.append(tag)
        attributes = dict(attrs)
        if tag == "html":
            self.html_attrs = attributes
        elif tag == "section":
            self.section = attributes["id"]
            self.sections[self.section] = ""
        elif tag == "img":
            self.images.append(attributes["src"] or "")
        elif tag == "a":
            self.links.append(attributes["href"] or "")

    def handle_endtag(self, tag):
        if self.section:
            self.sections[self.section] += " "

    def handle_data(self, data):
        self.text.append(data)
        if self.section:
            self.sections[self.section] += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def squeezed(text: str) -> str:
    return " ".join(text.split())


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_html_has_every_section_with_its_numbers(html):
    page = parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert page.html_attrs == {"lang": "en", "dir": "ltr"}
    assert list(page.sections) == ["summary", "metacluster", "participants", "teams", "activities", "outcomes",
                                   "representation"]
    s = {name: squeezed(text) for name, text in page.sections.items()}
    assert "Olive oil quality and export (olive-oil-2025)" in s["summary"]
    assert "Status Active" in s["summary"] and "Coordinator QOOT (LB)" in s["summary"]
    assert "Active since 2025-02-01" in s["summary"] and "Closed -" in s["summary"]
    assert "Participants 6 (3 taking part, 1 accepted, 1 invited, 1 declined)" in s["summary"]
    # knowledge per 100 members: 10/235 at the start, 15/238 now
    assert "Knowledge members per 100 members 4.3 at the start, 6.3 now" in s["summary"]
    assert "Agri-food (olive oil) (mc-agri-food-1)" in s["metacluster"]
    assert "Production, Processing, Packaging, Distribution" in s["metacluster"]
    assert "Université Saint-Esprit de Kaslik Knowledge entity LB Invited -" in s["participants"]
    assert "AgroAndalus Cluster ES Declined 2025-01-30" in s["participants"]
    assert "Quality labs (score 0.84)" in s["teams"] and "Export to the EU (score 0.71)" in s["teams"]
    assert "USEK offers testing that QOOT members need (NACE 71.20)" in s["teams"]
    assert "Edited by hand after the suggestion." in s["teams"]
    assert "Université Saint-Esprit de Kaslik (LB, Knowledge entity)" in s["teams"]
    assert "2025-05-06 Benchmarking visit Visit to the Bari oil lab QOOT, Olivenet Puglia" in s["activities"]
    assert "Agreed on two teams.\nNext: lab visit." in page.sections["activities"]  # notes keep their lines
    assert "2025-06-02 Memorandum of understanding MoU on shared quality testing" in s["outcomes"]
    assert page.links == ["https://example.org/mou-quality"]
    representation_text = s["representation"]
    assert "Knowledge members per 100 members 4.3 6.3" in representation_text
    assert "TN 30 0 0.0 31 2 6.5" in representation_text  # members, knowledge, per 100: start then now
    assert "LB 40 1 2.5 42 3 7.1" in representation_text
    assert "Processing 3 ES, IT, MA 6 ES, IT, LB, MA, TN" in representation_text
    assert "Knowledge entities 10 4% 15 6%" in representation_text
    assert "At the start: Processing in TN; Processing in LB; Packaging in MA" in representation_text
    assert "Now: Packaging in MA" in representation_text
    assert "No figures were kept" not in html


def test_html_is_self_contained_with_embedded_png_charts(html):
    page = parse(html)
    assert len(page.images) == 2
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
    for src in page.images:
        width, height = png_size(base64.b64decode(src.removeprefix("data:image/png;base64,")))
        assert 300 <= width <= 1600 and 200 <= height <= 1400
    assert "script" not in page.tags and "link" not in page.tags
    # No other resource: nothing fetched by src= or url() but data: URIs, and a policy that forbids the rest.
    assert re.findall(r'src="(?!data:image/png;base64,)', html) == []
    assert "url(" not in html and "@import" not in html
    assert "default-src 'none'; img-src data:" in html
    assert "@media print" in html


def test_markdown_has_every_section_numbers_and_chart_files(written):
    path = written[1]
    assert path.name == "report.md"
    text = path.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == ["Summary", "Meta-cluster", "Participants", "Teams", "Activities", "Outcomes",
                        "Scientific representation"]
    assert text.startswith("# Pilot report: Olive oil quality and export\n")
    assert "- **Participants:** 6 (3 taking part, 1 accepted, 1 invited, 1 declined)" in text
    assert "- **Knowledge members per 100 members:** 4.3 at the start, 6.3 now" in text
    assert "| Université Saint\\-Esprit de Kaslik | Knowledge entity | LB | Invited | \\- |" not in text
    assert "| Université Saint-Esprit de Kaslik | Knowledge entity | LB | Invited | \\- |" in text
    assert "### Quality labs (score 0.84)" in text
    assert "| TN | 30 | 0 | 0.0 | 31 | 2 | 6.5 |" in text
    assert "| Processing | 3 | ES, IT, MA | 6 | ES, IT, LB, MA, TN |" in text
    assert "| 2025-06-02 | Memorandum of understanding | MoU on shared quality testing | QOOT, Olivenet Puglia | " \
           "<https://example.org/mou-quality> |" in text
    assert "| 2025-03-12 | Meeting | Kick\\-off in Beirut | QOOT, Menara Cluster, 2TS | " \
           "Agreed on two teams. Next: lab visit. |" not in text  # (no escape needed mid-text)
    assert "| 2025-03-12 | Meeting | Kick-off in Beirut | QOOT, Menara Cluster, 2TS | " \
           "Agreed on two teams. Next: lab visit. |" in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images == ["coverage-by-stage.png", "knowledge-per-100.png"]
    for name in images:
        width, height = png_size((path.parent / name).read_bytes())
        assert width > 300 and height > 200
    # every table row has as many cells as its header
    for block in re.findall(r"((?:^\|.*\|\n)+)", text, re.M):
        counts = {len(re.findall(r"(?<!\\)\|", line)) for line in block.splitlines()}
        assert len(counts) == 1, block


HOSTILE = ["<script>alert(1)</script>", "[x](javascript:alert(1))", "# Owned", "**bold** _it_ `code` | cell",
           "![img](https://evil.example/p.png)", "evil\u202etxt.exe", "&lt;b&gt;", "1. listed", "- bullet"]


def hostile_report(report: dict) -> dict:
    hostile = copy.deepcopy(report)
    for i, participant in enumerate(hostile["participants"]):
        participant["name"] = HOSTILE[i % len(HOSTILE)]
    hostile["pilot"]["name"] = "<script>alert('pilot')</script>"
    hostile["pilot"]["goal"] = "# Goal\n<img src=x onerror=alert(1)>"
    team = hostile["teams"][0]
    team["name"] = "[team](javascript:alert(1))"
    team["reasons"] = HOSTILE
    team["members"][0]["name"] = "<b>bold</b>"
    hostile["activities"][0]["title"] = "# heading"
    hostile["activities"][0]["notes"] = "line one\n# line two\n<iframe src=//evil.example>"
    hostile["activities"][0]["participants"] = HOSTILE
    hostile["outcomes"][0]["title"] = "![x](https://evil.example/t.png)"
    hostile["outcomes"][0]["link"] = "javascript:alert(1)"
    hostile["outcomes"][1]["link"] = "https://ok.example/a b<script>"
    return hostile


def test_hostile_text_is_text_in_html(report):
    html = render_html(hostile_report(report))
    page = parse(html)
    assert [t for t in page.tags if t in ("script", "iframe", "b", "img") and t != "img"] == []
    assert len(page.images) == 2 and all(src.startswith("data:image/png") for src in page.images)
    assert page.links == []  # neither the javascript: link nor the malformed one became a link
    text = "".join(page.text)
    for name in ("<script>alert(1)</script>", "[x](javascript:alert(1))", "<img src=x onerror=alert(1)>",
                 "<iframe src=//evil.example>", "javascript:alert(1)"):
        assert name in text
    assert "evil\\u202etxt.exe" in text and "\u202e" not in html  # bidi override shown, not obeyed
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_hostile_text_is_text_in_markdown(report, tmp_path):
    text = render_markdown(hostile_report(report), tmp_path).read_text(encoding="utf-8")
    body = text.split("\n", 1)[1]
    # No heading but the template's own, no raw HTML, no link or image but the charts and the checked autolink.
    assert re.findall(r"^(#+) ", text, re.M) == ["#", "##", "##", "##", "##", "###", "###", "##", "##", "##"]
    assert re.findall(r"^## (.+)$", text, re.M) == ["Summary", "Meta-cluster", "Participants", "Teams", "Activities",
                                                     "Outcomes", "Scientific representation"]
    assert re.findall(r"(?<!\\)<(?!https://)", body) == []
    assert re.findall(r"(?<!\\)\]\(", text) == ["](", "]("]  # the two chart images
    assert "\\<script\\>alert(1)\\</script\\>" in text
    assert "\\[x\\](javascript:alert(1))" in text
    assert "\\# Owned" in text and "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\| cell" in text
    assert "1\\. listed" in text and "\\- bullet" in text and "\\&lt;b\\&gt;" in text
    assert "evil\\\\u202etxt.exe" in text and "\u202e" not in text
    assert "line one \\# line two \\<iframe src=//evil.example\\>" in text
    assert "| javascript:alert(1) |" in text


def test_markdown_text_escapes_what_could_be_markup():
    assert markdown_text("<script>") == "\\<script\\>"
    assert markdown_text("# title") == "\\# title"
    assert markdown_text("2. item") == "2\\. item"
    assert markdown_text("+ x") == "\\+ x"
    assert markdown_text("a\n\n# b") == "a \\# b"
    assert markdown_text("Menara Cluster (MA) - 2025") == "Menara Cluster (MA) - 2025"
    assert safe_link("https://example.org/x?y=1") == "https://example.org/x?y=1"
    assert [safe_link(v) for v in ("javascript:alert(1)", "data:text/html,x", "https://a b", "//evil.example",
                                   "https://x/<", None, "http:///nohost")] == [None] * 7


def test_two_renders_are_byte_identical(written, tmp_path):
    first = written
    second = write_report(olive_oil_pilot(), tmp_path / "again")
    assert [p.name for p in first] == ["report.html", "report.md", "coverage-by-stage.png", "knowledge-per-100.png"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    png = first[2].read_bytes()
    assert b"Software" not in png and b"matplotlib" not in png and b"tEXt" not in png


def test_without_figures_at_the_start(report, tmp_path):
    report["representation"]["start"] = None
    page = parse(render_html(report))
    representation_text = squeezed(page.sections["representation"])
    assert "No figures were kept at the start." in representation_text
    assert "Knowledge members per 100 members 6.3" in representation_text
    assert "TN 31 2 6.5" in representation_text and "(at the start)" not in representation_text
    assert "Now: Packaging in MA" in representation_text and "At the start:" not in representation_text
    assert "6.3 now (no figures were kept at the start)" in squeezed(page.sections["summary"])
    assert len(page.images) == 2
    path = render_markdown(report, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "No figures were kept at the start." in text and "| Country | Members (now) |" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coverage-by-stage.png", "knowledge-per-100.png",
                                                          "report.md"]


def test_without_figures_now(report, tmp_path):
    """A hub that knows no representation today (none given to it) still reports the figures kept at the start."""
    report["representation"]["now"] = None
    page = parse(render_html(report))
    representation_text = squeezed(page.sections["representation"])
    assert "No figures are known now." in representation_text
    assert "TN 30 0 0.0" in representation_text and "(now)" not in representation_text
    assert "At the start: Processing in TN" in representation_text and "Now:" not in representation_text
    assert "at the start (no figures are known now)" in squeezed(page.sections["summary"])
    assert len(page.images) == 2
    text = render_markdown(report, tmp_path).read_text(encoding="utf-8")
    assert "No figures are known now." in text and "| Country | Members (at the start) |" in text


def test_without_any_figures(report, tmp_path):
    """Neither kept nor known: the section says so, no chart is drawn, every other section is there."""
    report["representation"] = {"start": None, "now": None}
    page = parse(render_html(report))
    assert squeezed(page.sections["representation"]) == (
        "Scientific representation No scientific-representation figures are known for this meta-cluster.")
    assert page.images == []
    assert "Knowledge members per 100 members No scientific-representation figures are known" in squeezed(
        page.sections["summary"])
    assert "Olive oil quality and export" in squeezed(page.sections["summary"])
    written = write_report(report, tmp_path)
    assert [p.name for p in written] == ["report.html", "report.md"]
    text = written[1].read_text(encoding="utf-8")
    assert "## Scientific representation\n\nNo scientific-representation figures are known for this " \
           "meta-cluster.\n" in text
    assert "![" not in text


def test_an_empty_pilot_says_none_yet(report, tmp_path):
    report["language"] = "ar"  # and a report in a right-to-left language says so
    report["pilot"]["status"] = "proposed"
    report["pilot"]["activated_at"] = None
    report["participants"] = []
    report["teams"] = []
    report["activities"] = []
    report["outcomes"] = []
    page = parse(render_html(report))
    assert page.html_attrs == {"lang": "ar", "dir": "rtl"}
    for section in ("participants", "teams", "activities", "outcomes"):
        assert "None yet." in page.sections[section], section
    assert "Participants 0" in squeezed(page.sections["summary"])
    text = render_markdown(report, tmp_path).read_text(encoding="utf-8")
    for heading in ("Participants", "Teams", "Activities", "Outcomes"):
        assert re.search(rf"^## {heading}\n\nNone yet\.\n", text, re.M), heading


def test_counts_unknown_only_supported_or_not(report):
    """Figures without per-(stage, country) counts still draw the heatmap (supported or not)."""
    for moment in ("start", "now"):
        for entry in report["representation"][moment]["by_stage"].values():
            del entry["by_country"]
    grid = stage_grid(report["representation"]["now"], [s["id"] for s in STAGES], ["LB", "MA", "TN", "IT", "ES"])
    assert not grid.counted
    assert grid.values == [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 0]]
    assert grid.gaps == {(2, 1)}  # packaging in MA
    page = parse(render_html(report))
    assert len(page.images) == 2 and all(png_size(base64.b64decode(src.split(",", 1)[1]))[0] > 300
                                         for src in page.images)


def test_unknown_format_is_refused_and_writes_nothing(report, tmp_path):
    with pytest.raises(BadRequest, match="report formats are html, md; got pdf$"):
        write_report(report, tmp_path / "out", formats=("html", "pdf"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(BadRequest, match="got none$"):
        write_report(report, tmp_path / "out", formats=())
    assert not (tmp_path / "out").exists()


def test_importing_the_report_does_not_import_matplotlib():
    code = "import sys, federation.pilots.report; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.strip() == "False"
