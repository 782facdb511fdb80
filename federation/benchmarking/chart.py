"""The benchmark as a picture: one row per indicator, the cluster's percentile against each peer group as a
horizontal bar (0 to 100), over the band where the middle half of the peers lies (25th to 75th percentile); each row
says the cluster's value and the peers' median. An indicator without a percentile (too few peers, not applicable)
says why instead of a bar.

matplotlib is imported when a chart is drawn only, on a ``Figure`` with its own Agg canvas (no pyplot, no global
backend), like the pilot report's charts (``federation/pilots/charts.py``): fixed size and DPI, no PNG metadata, no
math text, the font matplotlib ships, Okabe-Ito colours (one per peer group) readable in any colour vision.
"""

from __future__ import annotations

import io
import warnings

#: Okabe-Ito colours, one per peer group in order.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
BAND = "#DDDDDD"
DPI = 100
#: Height per indicator row and the figure's bounds (inches).
ROW_INCHES, MAX_HEIGHT, WIDTH = 0.55, 30.0, 11.0


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{100 * value:.0f}%"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def draw_benchmark(benchmark: dict) -> bytes:
    """The PNG bytes of the chart of one benchmark (the dict :meth:`BenchmarkService.benchmark` gives)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = benchmark["indicators"]
    groups = [g["name"] for g in benchmark["peer_groups"]]
    height = min(MAX_HEIGHT, 1.6 + ROW_INCHES * max(1, len(rows)))
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "font.size": 9, "text.parse_math": False,
                                "figure.dpi": DPI, "savefig.dpi": DPI}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        figure = Figure(figsize=(WIDTH, height))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot(1, 1, 1)
        bar = 0.8 / max(1, len(groups))
        labelled: set[str] = set()
        for position, row in enumerate(rows):
            y = len(rows) - 1 - position
            axes.axhspan(y - 0.42, y + 0.42, xmin=0.25, xmax=0.75, color=BAND, zorder=0)
            notes = []
            for index, name in enumerate(groups):
                stats = row["peers"][name]
                offset = y + 0.4 - bar * (index + 0.5)
                if stats["percentile"] is None:
                    notes.append(f"{name}: n/a ({stats['n']} peers)")
                    continue
                axes.barh(offset, stats["percentile"], height=bar * 0.9, color=COLOURS[index % len(COLOURS)],
                          label=None if name in labelled else name, zorder=2)
                labelled.add(name)
            median = row["peers"][groups[0]]["median"]
            text = f"value {_number(row['value'], row['unit'])}, median {_number(median, row['unit'])}"
            if notes:
                text += "; " + "; ".join(notes)
            axes.text(101, y, text, va="center", fontsize=8)
        axes.set_yticks(range(len(rows)))
        axes.set_yticklabels([f"{r['label']}{' (lower is better)' if r['higher_is_better'] is False else ''}"
                              for r in reversed(rows)])
        axes.set_xlim(0, 100)
        axes.set_ylim(-0.6, len(rows) - 0.4)
        axes.axvline(50, color="#777777", linewidth=0.8, zorder=1)
        axes.set_xlabel("percentile among peers (grey: the middle half of the peers)")
        cluster = benchmark["cluster"]
        axes.set_title(f"{cluster['name']} ({cluster['country']}): benchmark as of {benchmark['as_of']}")
        handles, labels = axes.get_legend_handles_labels()
        if handles:
            axes.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.06 * 12 / height),
                        ncol=len(labels), frameon=False)
        figure.subplots_adjust(left=0.3, right=0.62)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    return buffer.getvalue()
