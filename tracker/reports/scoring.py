"""Apply the scoring scheme in ``scoring.yaml`` (shipped in ``tracker/reports/assets/``; a deployment
keeps its own copy in ``reports/``, see ``reports/README.md`` and the file's comments).

Two scheme types: ``all_clauses`` (合格 only when every clause is met) and ``weighted`` (100 points
over dimensions such as 项目实施/项目成效/资金使用/项目管理, graded by thresholds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tracker.errors import TrackerError
from tracker.kpispec.model import Kind, Spec
from tracker.measure.types import STATUS_LABELS, KpiProgress, ProjectProgress
from tracker.text import fmt_num

STATUSES = ("met", "on_track", "behind", "missed", "pending")
# The worst status of a clause's KPIs is the clause's status.
_SEVERITY = {"missed": 4, "behind": 3, "pending": 2, "on_track": 1, "met": 0}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dimension(_Strict):
    name: str
    weight: float = Field(gt=0)
    kinds: list[str] = Field(default_factory=list)
    partial: Literal["completion"] | None = None
    measure: Literal["execution_rate"] | None = None
    full_at: float = Field(default=100, gt=0, le=100)

    @model_validator(mode="after")
    def _one_source(self) -> Dimension:
        if bool(self.kinds) == bool(self.measure):
            raise ValueError(f"维度“{self.name}”须且只能给出 kinds 或 measure 之一")
        return self


class Grade(_Strict):
    grade: str
    min: float


class Scheme(_Strict):
    title: str
    type: Literal["all_clauses", "weighted"]
    pass_label: str = "合格"
    fail_label: str = "不合格"
    dimensions: list[Dimension] = Field(default_factory=list)
    status_credit: dict[Literal["met", "on_track", "behind", "missed", "pending"], float] = Field(
        default_factory=lambda: {"met": 1, "on_track": 1, "behind": 0.5, "missed": 0, "pending": 0})
    grades: list[Grade] = Field(default_factory=list)
    excluded_kinds: list[str] = Field(default_factory=list, description="weighted：有意不计分的指标类型")
    #: how evaluators' scores make one score per dimension: their average, or the chair's decision
    combine: Literal["average", "chair"] = "average"

    @model_validator(mode="after")
    def _weighted_complete(self) -> Scheme:
        known = {k.value for k in Kind}
        for name in [k for d in self.dimensions for k in d.kinds] + self.excluded_kinds:
            if name not in known:
                raise ValueError(f"未知的指标类型 “{name}”：可用的有 {' '.join(k.value for k in Kind)}")
        if self.type == "weighted":
            if not self.dimensions or not self.grades:
                raise ValueError("weighted 方案须给出 dimensions 和 grades")
            total = sum(d.weight for d in self.dimensions)
            if abs(total - 100) > 1e-6:
                raise ValueError(f"各维度权重之和须为 100，现为 {total:g}")
            if sorted((g.min for g in self.grades), reverse=True) != [g.min for g in self.grades]:
                raise ValueError("grades 须按分数线从高到低排列")
            if self.grades[-1].min > 0:
                raise ValueError("grades 最后一档的 min 须为 0")
        return self


class ScoringFile(_Strict):
    use: str
    schemes: dict[str, Scheme]

    @model_validator(mode="after")
    def _use_exists(self) -> ScoringFile:
        if self.use not in self.schemes:
            raise ValueError(f"use: “{self.use}” 不在 schemes 中（已有：{'、'.join(self.schemes)}）")
        return self


def scoring_path() -> Path:
    """``TRACKER_SCORING``, else the deployment's ``reports/scoring.yaml`` (see ``reports.common.asset``),
    else the scheme tracker ships with."""
    from tracker.reports.common import asset

    explicit = os.environ.get("TRACKER_SCORING")
    return Path(explicit) if explicit else asset("scoring.yaml")


def load_scheme(path: Path | None = None, name: str | None = None) -> tuple[str, Scheme]:
    """The scheme named ``name`` (default: the file's ``use``) from the scoring file."""
    path = path or scoring_path()
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
        cfg = ScoringFile.model_validate(raw)
    except FileNotFoundError as e:
        raise TrackerError(f"找不到评分方案文件 {path}") from e
    except yaml.YAMLError as e:
        raise TrackerError(f"评分方案文件 {path} 不是合法的 YAML：{e}") from e
    except ValidationError as e:
        msgs = "；".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise TrackerError(f"评分方案文件 {path} 有误：{msgs}") from e
    name = name or cfg.use
    if name not in cfg.schemes:
        raise TrackerError(f"评分方案 “{name}” 不在 {path} 中（已有：{'、'.join(cfg.schemes)}）")
    return name, cfg.schemes[name]


# ------------------------------------------------------------------ clauses and gaps


@dataclass
class ClauseResult:
    clause: int
    text: str
    kpis: list[KpiProgress]
    status: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def clause_results(spec: Spec, progress: ProjectProgress) -> list[ClauseResult]:
    """The clauses in force, each with its KPIs' progress (a clause superseded by a correction is left
    out: ``superseded_rows`` lists it)."""
    by_id = {k.id: k for k in progress.kpis}
    out = []
    for c in spec.clauses:
        if c.superseded_by is not None:
            continue
        kpis = [by_id[spec.kpi_id(c, k)] for k in c.kpis if spec.kpi_id(c, k) in by_id]
        status = max((k.status for k in kpis), key=lambda s: _SEVERITY[s]) if kpis else "pending"
        out.append(ClauseResult(c.clause, c.text, kpis, status))
    return out


def superseded_rows(spec: Spec) -> list[dict[str, str]]:
    """What corrections replaced, for the report: the clause or KPI, its text, what replaces it and
    the correction's basis. None of it is counted or scored."""
    by_label = {str(c.clause): c for c in spec.clauses}
    rows = []
    for c, k, by in spec.superseded():
        if k is None:
            new = by_label[by]
            rows.append({"clause": c.label, "what": f"第{c.label}条：{c.text}", "by": f"第{new.label}条：{new.text}",
                         "correction": new.correction or c.correction or ""})
        else:
            kpis = {spec.kpi_id(cc, kk): (cc, kk) for cc, kk in spec.all_kpis()}
            nc, nk = kpis[by]
            target = "" if k.target is None else f"（目标 {fmt_num(k.target)}{k.unit}）"
            new_target = "" if nk.target is None else f"（目标 {fmt_num(nk.target)}{nk.unit}）"
            rows.append({"clause": c.label, "what": f"第{c.label}条 {k.label}{target}",
                         "by": f"第{nc.label}条 {nk.label}{new_target}", "correction": k.correction or nk.correction or ""})
    return rows


def compliance_text(k: KpiProgress) -> str:
    """A per-member rule in words: the rule, the share of member-periods meeting it and the counts."""
    d = k.detail
    judged, missed = int(d.get("judged") or 0), int(d.get("missed") or 0)
    rule = f"要求每个对象 {k.comparator.replace('>=', '≥').replace('<=', '≤')} {fmt_num(k.target)}{k.unit}"
    if not judged:
        return f"{rule}，尚无可判定的对象"
    bar = f"（局方接受 {fmt_num(d['compliance_target'])}%）" if d.get("compliance_target") is not None else ""
    below = f"，{d['below_pace']} 个低于进度" if d.get("below_pace") else ""
    return (f"{rule}；判定 {judged} 个对象·期，{fmt_num(k.actual)}% 达到{bar}，{missed} 个未达到{below}；"
            f"{d.get('members_compliant', 0)}/{d.get('members', 0)} 个对象全部达到")


def describe_gap(k: KpiProgress) -> str:
    """What failed and by how much, in one Chinese phrase."""
    head = f"第{k.clause}条 {k.label}"
    if k.status == "pending":
        return f"{head}：待评定（尚无可判定的记录或审核意见）"
    if k.measure == "covered_pct":
        d = k.detail
        return (f"{head}：{d.get('records', 0)} 项中 {d.get('covered', 0)} 项事先经审批（{fmt_num(k.actual)}%），"
                f"未经事先审批 {d.get('uncovered', 0)} 项")
    if k.measure == "incident_count" and k.violations:
        return f"{head}：发生 {k.violations} 起（要求不发生）"
    if k.target is None:
        if k.violations:
            return f"{head}：违规 {k.violations} 条"
        return f"{head}：{STATUS_LABELS[k.status]}"
    if k.measure == "compliance_pct":
        return f"{head}：{compliance_text(k)}"
    unit = "" if k.unit == "%" else k.unit
    pct = "%" if k.unit == "%" else ""
    gap_unit = " 个百分点" if k.unit == "%" else unit  # 85% against 80%: 差 5 个百分点, not 5%
    target, actual = f"{fmt_num(k.target)}{pct}", f"{fmt_num(k.actual)}{pct}"
    if k.actual is None:
        return f"{head}：目标 {target}{unit}，尚无实际值"
    gap = abs(float(k.target) - float(k.actual))
    if k.comparator == ">=":
        word = f"差 {fmt_num(gap)}{gap_unit}"
    elif k.comparator == "<=":
        word = f"超出 {fmt_num(gap)}{gap_unit}"
    else:
        word = f"相差 {fmt_num(gap)}{gap_unit}"
    comp = f"（完成 {k.completion:.1f}%）" if k.completion is not None else ""
    extra = f"；违规 {k.violations} 条" if k.violations else ""
    return f"{head}：目标 {target}{unit}，实际 {actual}{unit}，{word}{comp}{extra}"


# ------------------------------------------------------------------ scores


@dataclass
class DimensionScore:
    name: str
    weight: float
    score: float
    basis: str  # how the score was reached, in Chinese


@dataclass
class ScoreResult:
    scheme: str
    title: str
    type: str
    clauses_met: int
    clauses_total: int
    verdict: str
    passed: bool
    total: float | None = None
    dimensions: list[DimensionScore] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _kpi_credit(k: KpiProgress, scheme: Scheme, dim: Dimension) -> float:
    if dim.partial == "completion" and k.status in ("behind", "missed") and k.attainment is not None:
        return max(0.0, min(1.0, k.attainment / 100.0))
    return float(scheme.status_credit.get(k.status, 0.0))  # type: ignore[call-overload]


def apply_scheme(spec: Spec, progress: ProjectProgress, execution_rate: float | None,
                 scheme: Scheme, name: str = "") -> ScoreResult:
    """Score one project. ``execution_rate`` is the percent of the funding spent (None: unknown)."""
    clauses = clause_results(spec, progress)
    met = sum(1 for c in clauses if c.status == "met")
    failures = [describe_gap(k) for c in clauses for k in c.kpis if k.status != "met"]
    if scheme.type == "all_clauses":
        passed = met == len(clauses)
        return ScoreResult(name, scheme.title, scheme.type, met, len(clauses),
                           scheme.pass_label if passed else scheme.fail_label, passed, failures=failures)
    dims: list[DimensionScore] = []
    for d in scheme.dimensions:
        if d.measure == "execution_rate":
            if execution_rate is None:
                share, basis = 0.0, "无经费支出记录"
            else:
                share = min(1.0, execution_rate / d.full_at)
                basis = f"执行率 {execution_rate:.1f}%（{d.full_at:g}% 得满分）"
        else:
            ks = [k for k in progress.kpis if k.kind in d.kinds]
            if ks:
                share = sum(_kpi_credit(k, scheme, d) for k in ks) / len(ks)
                n_met = sum(1 for k in ks if k.status == "met")
                basis = f"{len(ks)} 项指标，达标 {n_met} 项"
            else:
                share, basis = 1.0, "本项目无此类指标，按满分计"
        dims.append(DimensionScore(d.name, d.weight, round(d.weight * share, 1), basis))
    total = round(sum(x.score for x in dims), 1)
    grade = next(g.grade for g in scheme.grades if total >= g.min)
    # Any grade above the lowest one passes (合格; A and B).
    passed = len(scheme.grades) < 2 or total >= scheme.grades[-2].min
    return ScoreResult(name, scheme.title, scheme.type, met, len(clauses), grade, passed, total, dims, failures)
