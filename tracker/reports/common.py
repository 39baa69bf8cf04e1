"""Shared pieces of the reports: output paths, dates, the engine hook, the Jinja2 environment and
the HTML → PDF step (WeasyPrint)."""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2

from tracker import clock
from tracker.errors import TrackerError
from tracker.kpispec.model import KPI, PacingMode, Spec

Which = Literal["midterm", "final"]
WHICH_CN: dict[str, str] = {"midterm": "中期", "final": "终期"}


@dataclass
class ReportFiles:
    html: Path | None = None
    pdf: Path | None = None
    xlsx: Path | None = None
    fingerprint: str | None = None


def check_which(which: str) -> Which:
    if which not in WHICH_CN:
        raise TrackerError(f"报告类型只能是 midterm（中期）或 final（终期），收到 “{which}”")
    return which  # type: ignore[return-value]


def default_as_of(spec: Spec, which: Which) -> dt.date:
    return spec.project.midterm_date if which == "midterm" else spec.project.period.end


aware = clock.known_on
local = clock.local_text


# ------------------------------------------------------------------ pacing line for burn-up charts


def _resolve(spec: Spec, d: dt.date | str) -> dt.date:
    if d == "midterm":
        return spec.project.midterm_date
    if d == "end":
        return spec.project.period.end
    return d  # type: ignore[return-value]


def pacing_points(spec: Spec, kpi: KPI) -> list[tuple[dt.date, float]]:
    """The expected cumulative value over the period, as the points of a polyline."""
    start, end = spec.project.period.start, spec.project.period.end
    p = kpi.default_pacing()
    t = float(kpi.target or 0)
    if p.mode is PacingMode.linear:
        return [(start, 0.0), (end, t)]
    if p.mode is PacingMode.due and p.due is not None:
        due = _resolve(spec, p.due)
        return [(start, 0.0), (due, 0.0), (due, t), (end, t)]
    if p.mode is PacingMode.milestones and p.milestones:
        return [(start, 0.0), *sorted((_resolve(spec, m.date), float(m.value)) for m in p.milestones)]
    return []


# ------------------------------------------------------------------ templates and PDF


ASSETS = Path(__file__).resolve().parent / "assets"
"""The templates, CSS and scoring scheme tracker ships with (package data)."""


def override_dir() -> Path | None:
    """Where a deployment keeps its own versions of the files in ``ASSETS``: ``TRACKER_REPORTS``, or
    else ``reports/`` under the working directory when it exists. A file found there is used instead
    of the shipped one of the same name; the others still come from ``ASSETS``."""
    explicit = os.environ.get("TRACKER_REPORTS")
    if explicit:
        return Path(explicit)
    local_dir = Path("reports")
    return local_dir if local_dir.is_dir() else None


def asset(name: str) -> Path:
    """The file ``name`` (``project.html.j2``, ``report.css``, ``scoring.yaml`` …): the deployment's own
    copy when there is one, else the shipped one."""
    own = override_dir()
    if own is not None and (own / name).is_file():
        return own / name
    return ASSETS / name


def templates_dir() -> Path:
    """The directory the report's stylesheet (``report.css``) is read from."""
    return asset("report.css").parent


def jinja_env(directory: Path | None = None) -> jinja2.Environment:
    own = override_dir()
    dirs = [directory] if directory else [*([own] if own else []), ASSETS]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    from tracker.measure.types import _num
    from tracker.text import fmt_num

    env.filters["num"] = fmt_num
    env.filters["raw"] = lambda v: "" if v is None else str(_num(v))  # machine-readable, as in the JSON
    env.filters["b64"] = lambda b: base64.b64encode(b).decode("ascii")
    env.filters["localtime"] = local
    return env


def render_template(name: str, context: dict[str, Any], directory: Path | None = None) -> str:
    try:
        return jinja_env(directory).get_template(name).render(**context)
    except jinja2.TemplateNotFound as e:
        raise TrackerError(f"找不到报告模板 {e.name}（目录 {directory or override_dir() or ASSETS}）") from e
    except jinja2.TemplateError as e:
        raise TrackerError(f"报告模板 {name} 有误：{e}") from e


_FONT_CONFIG: dict[int, Any] = {}  # process id → its WeasyPrint FontConfiguration (one per process)


def write_pdf(html: str, path: Path, base_dir: Path | None = None) -> None:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fc = _FONT_CONFIG.get(os.getpid())
    if fc is None:
        fc = _FONT_CONFIG[os.getpid()] = FontConfiguration()
    weasyprint.HTML(string=html, base_url=str(base_dir or templates_dir())).write_pdf(str(path), font_config=fc)


def pdf_variant(html: str, generated_at: dt.datetime) -> str:
    """The HTML the PDF is made from: the report plus its generation time (PDF metadata and page
    footer). The ``.html`` file itself carries no generation time, so it is byte-identical whenever
    it is regenerated from the same records and dates."""
    stamp = local(generated_at, "%Y-%m-%d %H:%M:%S")
    extra = (f'<meta name="dcterms.created" content="{generated_at.astimezone(dt.UTC).isoformat()}">\n'
             f'<meta name="generator" content="tracker">\n'
             f"<style>@page {{ @bottom-left {{ content: \"生成时间：{stamp}（北京时间）\"; }} }}</style>\n")
    return html.replace("</head>", extra + "</head>", 1)
