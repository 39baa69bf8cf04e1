"""Report charts as PNG bytes: matplotlib's ``Figure`` API on the Agg canvas (no pyplot state, safe in
jobs and threads), Chinese labels in Noto Sans CJK SC (Debian ``fonts-noto-cjk``, installed by
``scripts/system-deps``). Styles stay readable in black and white (line styles, hatches, greys).
Charts never show people's names: only counts, months and vocabulary labels.

The PNGs are deterministic (no timestamp metadata), so the HTML that embeds them is byte-identical
when regenerated from the same records.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import matplotlib
import matplotlib.dates
import matplotlib.ticker
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tracker.errors import TrackerError

FONT_FAMILY = "Noto Sans CJK SC"
INK = "#1f3b57"  # dark blue, prints as near-black
GREY = "#8c8c8c"
LIGHT = "#c8c8c8"
HATCHES = ("", "///", "...", "xxx", "\\\\\\", "ooo", "---", "+++")
SHADES = ("#1f3b57", "#7f9db9", "#d9d9d9", "#4d4d4d", "#b0c4de", "#a6a6a6", "#e8e8e8", "#5f7f9f")

_RC = {
    "font.family": [FONT_FAMILY],
    "font.size": 9,
    "axes.unicode_minus": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "svg.hashsalt": "tracker",
}


def check_font() -> None:
    """Fail with a clear message when the CJK font is missing (no silent boxes)."""
    try:
        font_manager.findfont(FONT_FAMILY, fallback_to_default=False)
    except ValueError as e:
        raise TrackerError("缺少中文字体 Noto Sans CJK SC：请先运行 scripts/system-deps 安装 fonts-noto-cjk") from e


def _figure(w: float = 6.4, h: float = 2.5) -> Figure:
    fig = Figure(figsize=(w, h), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes, drawn once. ``savefig`` would draw it twice: a figure with a layout
    engine gets a dry-run draw to place everything, then the real one; printing on the Agg canvas
    lays out at the start of its single draw and gives the same bytes (tested) in about two thirds
    of the CPU time."""
    buf = io.BytesIO()
    fig.canvas.print_png(buf, metadata={"Software": None})  # type: ignore[attr-defined]
    return buf.getvalue()


def _ctx():  # type: ignore[no-untyped-def]
    check_font()
    return matplotlib.rc_context(_RC)


def burnup(title: str, unit: str, months: Sequence[dt.date], cumulative: Sequence[float], target: float,
           period: tuple[dt.date, dt.date], midterm: dt.date, as_of: dt.date,
           pacing: Sequence[tuple[dt.date, float]] = ()) -> bytes:
    """Cumulative actual (end of each month) against the target and the pacing line.

    The actual line is the heaviest mark (solid, round markers) and its latest value is written
    beside its last point, so it stays visible when it is still near zero; the y axis starts a little
    below zero so that a low line never merges with the axis; the legend sits under the plot, where
    it covers nothing. Black-and-white safe: solid / dashed / dotted lines."""
    with _ctx():
        fig = _figure(6.4, 2.9)
        ax = fig.add_subplot()
        start, end = period
        top = max(target, *(cumulative or [0])) * 1.12 or 1
        if months:
            # The cumulative value at the end of each month (the last one at the as-of date).
            xs = [start, *[min(m, as_of) for m in months]]
            ys = [0.0, *[float(v) for v in cumulative]]
            ax.plot(xs, ys, color=INK, linewidth=2.6, marker="o", markersize=4, label="实际累计（每月末）",
                    zorder=5, solid_capstyle="round")
            last = ys[-1]
            share = f"（{last / target * 100:.1f}%）" if target else ""
            ax.annotate(f"{last:,.0f}{share}", (xs[-1], last), xytext=(5, 6), textcoords="offset points",
                        fontsize=8, color=INK, fontweight="bold", zorder=6,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
        if pacing:
            ax.plot([p[0] for p in pacing], [p[1] for p in pacing], color=GREY, linestyle="--",
                    linewidth=1.2, label="进度要求（应完成）")
        ax.axhline(target, color="black", linestyle=":", linewidth=1.2, label=f"目标 {target:,.0f}")
        ax.axvline(midterm, color=GREY, linewidth=0.8)
        ax.annotate("中期", (midterm, 1), xycoords=("data", "axes fraction"), xytext=(-3, -10),
                    textcoords="offset points", ha="right", fontsize=8, color="#555555")
        if as_of != midterm:
            ax.axvline(as_of, color=GREY, linewidth=0.8, linestyle="-.")
            ax.annotate("统计截至", (as_of, 1), xycoords=("data", "axes fraction"), xytext=(3, -10),
                        textcoords="offset points", ha="left", fontsize=8, color="#555555")
        ax.set_xlim(start, end)
        ax.set_ylim(-0.04 * top, top)
        ax.set_title(title, loc="left")
        ax.set_ylabel(f"累计{unit}" if unit else "累计")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%Y-%m"))
        ax.tick_params(axis="x", labelsize=8)
        fig.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)
        return _png(fig)


def monthly_volume(months: Sequence[str], series: dict[str, Sequence[int]]) -> bytes:
    """Records per month, stacked by activity type (hatched for black-and-white printing)."""
    with _ctx():
        fig = _figure()
        ax = fig.add_subplot()
        bottom = [0] * len(months)
        for i, (label, values) in enumerate(series.items()):
            ax.bar(list(months), list(values), bottom=bottom, label=label, color=SHADES[i % len(SHADES)],
                   hatch=HATCHES[i % len(HATCHES)], edgecolor="black", linewidth=0.5)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title("每月活动记录数")
        ax.set_ylabel("活动记录（条）")
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.tick_params(axis="x", labelrotation=45)
        if series:
            ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _png(fig)


def per_person(title: str, counts: Sequence[float], people: Sequence[int], rule: float, unit: str,
               who: str = "人数", every: str = "", per: str | None = None) -> bytes:
    """How many people (or person-months, ``who="人月数"``, ``every="月"``) received 0, 1, 2 …
    services, or how many hours or days (a rule with a field), against the per-person rule; ``per``
    names whose rule it is (项目每月: months of the project as a whole, ``who="月数"``)."""
    with _ctx():
        fig = _figure()
        ax = fig.add_subplot()
        below = [c < rule for c in counts]
        ax.bar([f"{c:g}" for c in counts], list(people),
               color=[LIGHT if b else INK for b in below], hatch=None, edgecolor="black", linewidth=0.5)
        for i, b in enumerate(below):
            if b:
                ax.patches[i].set_hatch("///")
        for bar, n in zip(ax.patches, people, strict=False):
            ax.annotate(f"{n:,}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), xytext=(0, 2),
                        textcoords="offset points", ha="center", fontsize=8)
        ax.set_ylim(0, max([*people, 1]) * 1.15)
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_title(title, loc="left")
        per = per or (f"每人每{every}" if every else "每人每月" if who.startswith("人月") else "每人")
        ax.set_xlabel(f"{per}实际数量（{unit}）；浅色斜线柱：低于{per} {rule:g} {unit} 的要求")
        ax.set_ylabel(who)
        return _png(fig)


def satisfaction(labels: Sequence[str], rates: Sequence[float], answers: Sequence[int],
                 target: float | None) -> bytes:
    """Satisfaction rate by respondent type, with the number of answers on each bar."""
    with _ctx():
        fig = _figure(6.4, 2.4)
        ax = fig.add_subplot()
        bars = ax.barh(list(labels), list(rates), color=INK, edgecolor="black", linewidth=0.5)
        for bar, r, n in zip(bars, rates, answers, strict=True):
            ax.annotate(f"{r:.1f}%（{n} 份）", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                        xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        if target is not None:
            ax.axvline(target, color="black", linestyle=":", linewidth=1.2)
            ax.annotate(f"目标 {target:g}%", (target, 0), xycoords=("data", "axes fraction"),
                        xytext=(-3, 3), textcoords="offset points", ha="right", fontsize=8,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
        ax.set_xlim(0, 125)
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.set_title("各类调查对象满意率", loc="left")
        ax.set_xlabel("满意率（%，柱旁为有效答卷份数）")
        return _png(fig)


STATUS_ORDER = ("met", "on_track", "behind", "missed", "pending")
STATUS_CN = {"met": "达标", "on_track": "进度正常", "behind": "进度滞后", "missed": "未达标", "pending": "待评定"}


def status_stack(title: str, groups: Sequence[str], counts: dict[str, Sequence[int]]) -> bytes:
    """KPI statuses per group (category or district), as a horizontal stacked bar."""
    with _ctx():
        fig = _figure(9.0, max(2.2, 0.24 * len(groups) + 1.0))
        ax = fig.add_subplot()
        left = [0] * len(groups)
        for i, s in enumerate(STATUS_ORDER):
            vals = list(counts.get(s, [0] * len(groups)))
            ax.barh(list(groups), vals, left=left, label=STATUS_CN[s], color=SHADES[i % len(SHADES)],
                    hatch=HATCHES[i], edgecolor="black", linewidth=0.5)
            left = [a + b for a, b in zip(left, vals, strict=True)]
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel(f"{title}（指标数）")
        ax.legend(fontsize=7, frameon=False, ncols=5, loc="lower center", bbox_to_anchor=(0.5, 1.0))
        return _png(fig)
