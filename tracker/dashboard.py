"""What a project's web dashboard shows: every KPI's figures with what is still needed per month,
the next milestone, the violations, and one chart per KPI (the reports' charts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tracker.measure.kinds import kind_of
from tracker.measure.types import STATUS_LABELS, KpiProgress, ProjectProgress


@dataclass
class DashboardRow:
    kpi: KpiProgress
    status_label: str
    manual: bool
    chart: bool  # a burn-up or distribution chart exists for it
    remaining: float | None  # what is still missing to reach a >= target
    per_month: float | None  # remaining spread over the months left in the period


@dataclass
class Dashboard:
    progress: ProjectProgress
    rows: list[DashboardRow]
    months_left: int
    milestone: tuple[str, dt.date, int]  # (中期评估|终期评估, date, days from as_of)
    violations: list[dict[str, Any]] = field(default_factory=list)
    violations_total: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def months_between(a: dt.date, b: dt.date) -> int:
    """Whole months from ``a`` to ``b`` counting a started month as one (0 when ``b`` is not later)."""
    if b <= a:
        return 0
    n = (b.year - a.year) * 12 + (b.month - a.month)
    return n + (1 if b.day >= a.day else 0) or 1


def build_dashboard(ws: Any, code: str, as_of: dt.date, *, violations_limit: int = 200) -> Dashboard:
    """The dashboard of the current records, remembered until the project's data or spec changes
    (``tracker.measure.cache``)."""
    from tracker.measure import cache

    return cache.remembered(ws, code, f"dashboard:{violations_limit}", as_of,
                            lambda: _build_dashboard(ws, code, as_of, violations_limit))


def _build_dashboard(ws: Any, code: str, as_of: dt.date, violations_limit: int) -> Dashboard:
    from tracker.measure import cache
    from tracker.measure.progress import list_violations
    from tracker.records.listing import record_sources

    spec = ws.spec(code)
    p = cache.progress(ws, code, as_of)
    kinds = {spec.kpi_id(c, k): k for c, k in spec.iter_kpis()}
    left = months_between(as_of, spec.project.period.end)
    rows = []
    for k in p.kpis:
        impl = kind_of(kinds[k.id].kind)
        remaining = per_month = None
        if k.comparator == ">=" and k.target is not None and k.actual is not None and impl.by_month:
            remaining = max(float(k.target) - float(k.actual), 0.0)
            per_month = round(remaining / left, 1) if left else None
        chart = (impl.chart == "burnup" and k.target is not None and float(k.target) > 1) or (
            impl.chart == "distribution" and k.target is not None)
        rows.append(DashboardRow(k, STATUS_LABELS[k.status], impl.reads_judgements, chart, remaining, per_month))
    mid, end = spec.project.midterm_date, spec.project.period.end
    milestone = ("中期评估", mid, (mid - as_of).days) if as_of <= mid else ("终期评估", end, (end - as_of).days)
    # The rule queries run again only for the KPIs whose figure counted violations, and list only the
    # rows shown: each KPI's listing has as many rows as its figure counts (the total).
    v = list_violations(ws, code, None, as_of, kpi_ids=[k.id for k in p.kpis if k.violations],
                        limit=violations_limit)
    labels = {k.id: f"第{k.clause}条 {k.label}" for k in p.kpis}
    vocab = {v.key: v.label for group in (spec.activity_types, spec.deliverable_types, spec.respondent_types,
                                          spec.populations) for v in group}
    shown = []
    sources = record_sources(ws, code, [(r["table"], r["id"]) for r in v[:violations_limit] if r.get("id")])
    for r in v[:violations_limit]:
        src = sources.get((r["table"], r["id"])) if r.get("id") else None
        r = {key: r.get(key) for key in ("kpi_id", "record_id", "id", "date", "what", "person", "name", "reason")}
        r["kpi_label"] = labels.get(r["kpi_id"], r["kpi_id"])
        r["what"] = vocab.get(r["what"], r["what"]) if isinstance(r["what"], str) else r["what"]
        r["kind"] = src.kind if src else None
        r["source"] = src.text() if src else None
        shown.append(r)
    return Dashboard(p, rows, left, milestone, shown, sum(k.violations or 0 for k in p.kpis), p.counts())


def kpi_chart(ws: Any, code: str, kpi_id: str, as_of: dt.date) -> bytes | None:
    """The report's chart of one KPI as PNG: a burn-up for counts and sums, the per-person
    distribution for per-person KPIs; None where the KPI has no chart."""
    from tracker.measure import progress as eng
    from tracker.measure.compile import find_kpi
    from tracker.reports import charts
    from tracker.reports.common import pacing_points
    from tracker.reports.project import _month_end

    spec = ws.spec(code)
    clause, k = find_kpi(spec, kpi_id)
    p = spec.project
    chart = kind_of(k.kind).chart
    if chart == "burnup" and k.target is not None:
        df = eng.monthly_series(ws, code, kpi_id, as_of)
        months = [_month_end(m) for m in df["month"]] if len(df) else []
        cum = [float(v) for v in df["cumulative"]] if len(df) else []
        title = f"第{clause.clause}条 {k.label}：累计完成"
        return charts.burnup(title, k.unit, months, cum, float(k.target), (p.period.start, p.period.end),
                             p.midterm_date, as_of, pacing_points(spec, k))
    if chart == "distribution" and k.target is not None:
        df = eng.per_person_distribution(ws, code, kpi_id, as_of)
        if not len(df):
            return None
        title = f"第{clause.clause}条 {k.label}：分布"
        return charts.per_person(title, [int(c) for c in df["count"]], [int(n) for n in df["people"]],
                                 float(k.target), k.unit)
    return None


# ------------------------------------------------------------------ the portfolio page


@dataclass
class PortfolioLine:
    progress: ProjectProgress
    counts: dict[str, int]
    organisation: str | None
    last_activity: dt.date | None
    silent: bool  # no activity dated in the last SILENT_DAYS days before as_of


SILENT_DAYS = 30
PORTFOLIO_SORTS = {"worst": "问题最多", "silent": "最久未记录", "code": "项目编号", "met": "达标最多"}


def last_activity_date(ws: Any, code: str, as_of: dt.date, versions: dict[str, Any] | None = None) -> dt.date | None:
    """The project's latest activity date up to ``as_of`` (current records only), remembered."""
    from sqlalchemy import func, select

    from tracker.db.models import Activity
    from tracker.measure import cache
    from tracker.records.visibility import visible

    t = Activity.__table__

    def compute() -> dt.date | None:
        q = select(func.max(t.c.date)).where(t.c.project_code == code, visible(t), t.c.date <= as_of)
        with ws.engine.connect() as conn:
            d = conn.execute(q).scalar()
        return None if d is None else d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10])

    return cache.remembered(ws, code, "last_activity", as_of, compute, versions)


def portfolio_lines(ws: Any, as_of: dt.date, sort: str = "worst") -> list[PortfolioLine]:
    """Every project for the portfolio page; by default the silent ones first, then the worst."""
    from tracker.accounts import project_organisations
    from tracker.measure import cache
    from tracker.measure.progress import portfolio_order

    orgs = project_organisations(ws)
    lines = []
    versions = cache.data_versions(ws) if cache.enabled() else None
    for p in cache.portfolio(ws, as_of):
        with cache.portfolio_work():
            la = last_activity_date(ws, p.project, as_of, versions)
        silent = la is None or (min(as_of, p.period_end) - la).days > SILENT_DAYS
        lines.append(PortfolioLine(p, p.counts(), orgs.get(p.project) or ws.spec(p.project).project.organisation,
                                   la, silent))
    keys = {
        "worst": lambda ln: (not ln.silent, portfolio_order(ln.progress)),
        "silent": lambda ln: (ln.last_activity or dt.date.min, ln.progress.project),
        "code": lambda ln: ln.progress.project,
        "met": lambda ln: (-ln.counts["met"], ln.progress.project),
    }
    return sorted(lines, key=keys.get(sort, keys["worst"]))


def warm_up(ws: Any) -> None:
    """Compute today's portfolio once so the first views after a start are remembered (``tracker
    serve`` runs this in a background thread, giving way to the pages being computed meanwhile:
    ``cache.background``; a failure is logged, never raised)."""
    import logging

    from tracker import clock
    from tracker.measure import cache

    if not cache.enabled():
        return
    try:
        with cache.background():
            portfolio_lines(ws, clock.today())
    except Exception:  # a warm-up must never take the server down
        logging.getLogger("tracker.web").exception("warm-up of the portfolio failed")


def default_as_of(spec: Any, given: dt.date | None = None) -> dt.date:
    """The given date, or today in Hangzhou kept inside the project's period."""
    from tracker import clock

    if given is not None:
        return given
    today = clock.today()
    return max(min(today, spec.project.period.end), spec.project.period.start)


def roster_choices(ws: Any, code: str) -> list[tuple[str, str]]:
    """(服务对象编号, masked name) of the project's current roster, for a record form's dropdown."""
    from sqlalchemy import select

    from tracker.db.models import Person
    from tracker.records.privacy import mask_name
    from tracker.records.visibility import visible

    t = Person.__table__
    q = select(t.c.person_id, t.c.name).where(t.c.project_code == code, visible(t)).order_by(t.c.person_id).limit(5000)
    with ws.engine.connect() as conn:
        return [(pid, mask_name(name) if name else "") for pid, name in conn.execute(q)]


def project_notes(ws: Any, code: str, limit: int = 50) -> list[Any]:
    """The project's latest explanations (未完成原因、改进措施、下一步计划), newest first."""
    from sqlalchemy import select

    from tracker.db.models import Explanation

    q = (select(Explanation).where(Explanation.project_code == code)
         .order_by(Explanation.recorded_at.desc(), Explanation.id.desc()).limit(limit))
    with ws.session() as s:
        return list(s.execute(q).scalars())


# ------------------------------------------------------------------ the records behind a figure

FIGURE_ROWS = 500  # rows a page lists (the count is always complete)


@dataclass
class FigureRecords:
    """The records one KPI's figure rests on (or, for a kind that does not count rows of its source,
    every current record of its table), for the record list page."""

    kpi_id: str
    label: str  # 第N条 指标名
    kind: str  # the record kind listed (activity, roster …)
    table: Any  # tracker.records.listing.Table
    total: int
    note: str  # what the list is, in Chinese


def figure_records(ws: Any, code: str, kpi_id: str, as_of: dt.date, *, limit: int = FIGURE_ROWS) -> FigureRecords:
    """The current records a KPI counts as of ``as_of`` (the rows its figure is computed from, inside
    its filters and bounds), first ``limit`` of them with where each came from."""
    from sqlalchemy import func, select

    from tracker.measure.compile import Ctx, find_kpi
    from tracker.records.listing import Table, list_records

    spec = ws.spec(code)
    clause, kpi = find_kpi(spec, kpi_id)
    label = f"第{clause.clause}条 {kpi.label}"
    impl = kind_of(kpi.kind)
    if impl.reads_judgements:
        return FigureRecords(kpi_id, label, "activity", Table([]), 0,
                             "该指标由审核员人工评定，没有计入的记录：请查看评定和佐证材料")
    if not impl.figure_counts_source:
        kind = impl.own_records or kpi.source.value
        table = list_records(ws, code, kind, limit=limit + 1)
        total = len(table.rows)
        table.rows = table.rows[:limit]
        return FigureRecords(kpi_id, label, kind, table, total, "该指标依据下列全部现行记录判定")
    found = impl.evidence(Ctx(spec, as_of), clause, kpi)  # the kind's own predicate
    assert found is not None
    source, ids = found
    with ws.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    kind = source.value
    table = list_records(ws, code, kind, ids=ids, limit=limit)
    return FigureRecords(kpi_id, label, kind, table, int(total),
                         f"截至 {as_of} 计入该指标的记录（不含违规和超出上限的记录）")


def listed_records(ws: Any, code: str, as_of: dt.date, *, kpi: str | None = None, kind: str = "activity",
                   month: str | None = None, person: str | None = None, batch: int | None = None,
                   limit: int = FIGURE_ROWS) -> FigureRecords:
    """The record list page: the records behind a KPI's figure, or the current records of one kind
    (of a month, a person, an import batch), first ``limit`` of them."""
    from tracker.records.columns import KINDS, resolve_kind
    from tracker.records.listing import list_records

    if kpi:
        return _shown(figure_records(ws, code, kpi, as_of, limit=limit))
    kind = resolve_kind(kind)
    table = list_records(ws, code, kind, month=month, person=person, batch=batch, limit=limit + 1)
    total = len(table.rows)
    table.rows = table.rows[:limit]
    what = [f"{month} 月" if month else "", f"服务对象 {person}" if person else "", f"导入批次 {batch}" if batch else ""]
    note = "、".join(w for w in what if w)
    return _shown(FigureRecords("", KINDS[kind].label, kind, table, total,
                                f"现行的{KINDS[kind].label}" + (f"（{note}）" if note else "")))


def _shown(got: FigureRecords) -> FigureRecords:
    """Only the columns with a value in some listed row (a kind has many optional columns)."""
    t = got.table
    if t.rows:
        t.columns = [(k, label) for k, label in t.columns
                     if k == "id" or any(r.get(k) not in (None, "") for r in t.rows)]
    return got
