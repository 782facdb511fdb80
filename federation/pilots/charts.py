"""The pilot report's two charts, as PNG bytes: knowledge entities per (stage, country), and knowledge members per
100 members by country, each at the start of the pilot and now.

matplotlib is imported inside :func:`draw_charts` only: it takes a good part of a second to import, and a command
that makes no report must not pay for it. Figures are drawn on a ``Figure`` of their own with an Agg canvas
(no pyplot: no display, no global backend chosen, nothing to close, safe in a web worker's thread). Output is
deterministic, so two renders of one report are byte-identical: fixed size and DPI, no ``Software`` (or any
other) PNG metadata, no math text (a ``$`` in a stage name is a dollar sign), the fonts matplotlib ships.

Colours are colour-blind safe: the heatmap uses ``cividis`` (made to be read alike with any colour vision), the bars
two Okabe-Ito colours, and "at the start" bars are hatched too, so the chart reads printed in grey.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Okabe-Ito colours: "now" in blue, "at the start" in orange (told apart in every common colour vision deficiency).
NOW_COLOUR = "#0072B2"
START_COLOUR = "#E69F00"
HEATMAP_COLOURS = "cividis"
DPI = 100
#: A figure grows with its rows and columns, within these bounds (inches).
MAX_WIDTH, MAX_HEIGHT = 16.0, 14.0


@dataclass(frozen=True)
class Chart:
    """One chart of the report: ``filename`` is where the Markdown report puts it, next to report.md."""

    filename: str
    title: str
    alt: str
    png: bytes


@dataclass(frozen=True)
class Grid:
    """Knowledge entities per (stage, country) of one moment; ``counted`` False when the figures say only which
    countries a stage is supported in (then a cell is 1 or 0), ``gaps`` the (stage row, country column) cells where
    no knowledge entity supports the stage in the country."""

    values: list[list[int]]
    counted: bool
    gaps: frozenset[tuple[int, int]]


def stage_grid(representation: Mapping, stage_ids: Sequence[str], countries: Sequence[str]) -> Grid:
    """The heatmap's cells for one representation (see the report dict in federation.pilots.report)."""
    by_stage = representation.get("by_stage") or {}
    counted = all("by_country" in (by_stage.get(s) or {}) for s in stage_ids) and bool(stage_ids)
    values = []
    for stage in stage_ids:
        entry = by_stage.get(stage) or {}
        if counted:
            values.append([int(entry["by_country"].get(c, 0)) for c in countries])
        else:
            supported = set(entry.get("countries") or ())
            values.append([1 if c in supported else 0 for c in countries])
    row, column = {s: i for i, s in enumerate(stage_ids)}, {c: i for i, c in enumerate(countries)}
    gaps = frozenset((row[g["stage"]], column[g["country"]]) for g in representation.get("unsupported") or ()
                     if g.get("stage") in row and g.get("country") in column)
    return Grid(values, counted, gaps)


def moments(start: Mapping | None, now: Mapping | None) -> list[tuple[str, Mapping]]:
    """("At the start", R) and ("Now", R), leaving out a moment without figures."""
    return [(label, r) for label, r in (("At the start", start), ("Now", now)) if r is not None]


def draw_charts(stages: Sequence[tuple[str, str]], countries: Sequence[str], start: Mapping | None,
                now: Mapping | None) -> list[Chart]:
    """Both charts. ``stages`` are (id, name) in the chain's order, ``countries`` the columns in their order;
    ``start`` (or ``now``) None draws the other moment alone, both None draws nothing. A chart with nothing to show
    (no stage or no country) is left out."""
    if not countries or (start is None and now is None):
        return []
    import matplotlib
    from matplotlib.figure import Figure

    charts = []
    # DejaVu Sans ships with matplotlib: the same glyphs on every machine.
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "font.size": 10, "text.parse_math": False,
                                "figure.dpi": DPI, "savefig.dpi": DPI}), warnings.catch_warnings():
        # A stage name in a script the shipped font lacks shows a box instead of failing the report.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        if stages:
            charts.append(_coverage_chart(Figure, stages, countries, start, now))
        charts.append(_per_100_chart(Figure, countries, start, now))
    return charts


def _coverage_chart(figure_class, stages, countries, start, now) -> Chart:
    from matplotlib.ticker import MaxNLocator

    stage_ids = [s for s, _ in stages]
    grids = [(label, stage_grid(r, stage_ids, countries)) for label, r in moments(start, now)]
    counted = all(g.counted for _, g in grids)
    if not counted:  # one moment without counts: show both as supported / not, so the two panels compare
        grids = [(label, Grid([[1 if v else 0 for v in row] for row in g.values], False, g.gaps))
                 for label, g in grids]
    top = max([1] + [v for _, g in grids for row in g.values for v in row])
    width = min(MAX_WIDTH, 3.0 + len(grids) * (1.0 + 0.7 * len(countries)))
    height = min(MAX_HEIGHT, 2.2 + 0.45 * len(stages))
    figure = figure_class(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, len(grids), sharey=True, squeeze=False)[0]
    images = []
    for axis, (label, grid) in zip(axes, grids, strict=True):
        image = axis.imshow(grid.values, cmap=HEATMAP_COLOURS, vmin=0, vmax=top, aspect="auto")
        images.append(image)
        axis.set_title(label)
        axis.set_xticks(range(len(countries)), labels=list(countries))
        axis.set_yticks(range(len(stages)), labels=[name for _, name in stages])
        axis.tick_params(length=0)
        for r, row in enumerate(grid.values):
            for c, value in enumerate(row):
                text = str(value) if counted else ("yes" if value else "-")
                axis.text(c, r, text, ha="center", va="center", fontsize=9,
                          color=_ink_on(image.cmap(image.norm(value))))
        for r, c in sorted(grid.gaps):  # hatched: no knowledge entity supports the stage in that country
            axis.add_patch(_gap_patch(r, c))
    axes[0].set_ylabel("Value-chain stage")
    colourbar = figure.colorbar(images[-1], ax=list(axes), shrink=0.8)
    colourbar.locator = MaxNLocator(integer=True)  # counts: no 0.25 ticks
    colourbar.update_ticks()
    colourbar.set_label("knowledge entities" if counted else "supported (1) or not (0)")
    figure.suptitle("Knowledge entities by stage and country (hatched: no knowledge support in that country)",
                    fontsize=10)
    moments_said = _said(start, now)
    alt = (f"Heatmap of knowledge entities for {len(stages)} stages in {len(countries)} countries, "
           f"{moments_said}; the tables below give the same figures.")
    return Chart("coverage-by-stage.png", "Knowledge entities by stage and country", alt, _png(figure))


def _ink_on(rgba) -> str:
    """Black or white text, whichever reads on a cell of colour ``rgba`` (WCAG relative luminance)."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in rgba[:3])
    return "black" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.18 else "white"


def _gap_patch(row: int, column: int):
    from matplotlib.patches import Rectangle

    return Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#D55E00", linewidth=1.5)


def _per_100_chart(figure_class, countries, start, now) -> Chart:
    def per_100(representation: Mapping | None) -> list[float]:
        by_country = (representation or {}).get("by_country") or {}
        return [float((by_country.get(c) or {}).get("per_100") or 0.0) for c in countries]

    looks = {"At the start": (START_COLOUR, "//"), "Now": (NOW_COLOUR, "")}
    series = [(label, per_100(r), *looks[label]) for label, r in moments(start, now)]
    width = min(MAX_WIDTH, 3.5 + 0.9 * len(countries) * len(series))
    figure = figure_class(figsize=(width, 4.2), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    bar_width = 0.8 / len(series)
    for i, (label, values, colour, hatch) in enumerate(series):
        offsets = [x + (i - (len(series) - 1) / 2) * bar_width for x in range(len(countries))]
        bars = axis.bar(offsets, values, bar_width, label=label, color=colour, hatch=hatch, edgecolor="black",
                        linewidth=0.6)
        axis.bar_label(bars, labels=[f"{v:.1f}" for v in values], padding=2, fontsize=8)
    axis.set_xticks(range(len(countries)), labels=list(countries))
    axis.set_ylabel("Knowledge members per 100 members")
    axis.set_xlabel("Country")
    axis.set_ylim(0, max([1.0] + [v for _, values, _, _ in series for v in values]) * 1.2)
    axis.spines[["top", "right"]].set_visible(False)
    axis.legend(frameon=False)
    axis.set_title("Knowledge members per 100 members, by country")
    moments_said = _said(start, now)
    alt = (f"Bar chart of knowledge members per 100 members in {len(countries)} countries, {moments_said}; "
           "the table below gives the same figures.")
    return Chart("knowledge-per-100.png", "Knowledge members per 100 members, by country", alt, _png(figure))


def _said(start: Mapping | None, now: Mapping | None) -> str:
    """The moments a chart shows, for its alt text: "at the start of the pilot and now", "now"..."""
    words = {"At the start": "at the start of the pilot", "Now": "now"}
    return " and ".join(words[label] for label, _ in moments(start, now))


def _png(figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # the figure's own Agg canvas: no display, and the process's backend left alone
    buffer = io.BytesIO()
    # No metadata: matplotlib writes its version as "Software" by default, which would make renders differ.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
