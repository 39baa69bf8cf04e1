"""Evaluators' scores: each evaluator scores each dimension of the weighted scheme in
``scoring.yaml`` (score, comment, evidence); the scheme's ``combine`` says how they make one
score per dimension — ``average`` of the evaluators' latest scores, or the ``chair``'s decision
(the chair's score where given, else the average). The computed pre-score stays beside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from tracker import audit
from tracker.db.evaluation import EvaluatorScore
from tracker.db.models import utcnow
from tracker.errors import TrackerError
from tracker.evaluation import load_submission


@dataclass
class DimensionVerdict:
    name: str
    weight: float
    pre_score: float | None  # computed from the records
    score: float | None  # the evaluators' combined score (None: nobody scored it)
    how: str  # "3 位专家平均" | "组长 张三 决定"
    entries: list[dict[str, Any]] = field(default_factory=list)  # evaluator, chair, score, comment, evidence, at


@dataclass
class EvaluatedScore:
    dimensions: list[DimensionVerdict]
    total: float | None
    grade: str | None
    pre_total: float | None
    complete: bool  # every dimension scored


def record_score(ws: Any, sub_id: int, *, evaluator: str, dimension: str, score: float, comment: str = "",
                 evidence: str = "", chair: bool = False, role: str = "auditor",
                 scheme: str | None = None, at: dt.datetime | None = None) -> None:
    """An evaluator's score of one dimension (a later score by the same evaluator replaces it)."""
    from tracker.reports.scoring import load_scheme

    if role not in ("auditor", "admin"):
        raise TrackerError("只有评估专家（审核人）可以评分")
    if not evaluator or not evaluator.strip():
        raise TrackerError("请写明评估专家姓名")
    _, sch = load_scheme(name=scheme)
    if sch.type != "weighted":
        raise TrackerError(f"当前评分方案“{sch.title}”是逐条达标判定，没有评分维度；请在评分方案文件 scoring.yaml 中选用百分制方案（use:，见 reports/README.md）")
    dims = {d.name: d for d in sch.dimensions}
    if dimension not in dims:
        raise TrackerError(f"没有评分维度“{dimension}”：可选 {'、'.join(dims)}")
    w = dims[dimension].weight
    if not (0 <= float(score) <= w):
        raise TrackerError(f"“{dimension}”的分数应在 0 到 {w:g} 之间，收到 {score:g}")
    with ws.session() as s:
        sub = load_submission(s, sub_id)
        if sub.kind not in ("midterm", "final"):
            raise TrackerError("只有中期、终期评估需要专家评分")
        if sub.state == "approved":
            raise TrackerError("该评估已批准签署，不能再修改评分")
        row = EvaluatorScore(submission_id=sub_id, evaluator=evaluator.strip(), chair=chair, dimension=dimension,
                             score=float(score), comment=(comment or "").strip(), evidence=(evidence or "").strip(),
                             at=at or utcnow())
        s.add(row)
        s.flush()
        audit.record_row(s, "score", EvaluatorScore, row.id, evaluator.strip())
        s.commit()


def scores_of(conn: Any, sub_id: int, known_on: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The latest score of each (evaluator, dimension), as known on ``known_on``."""
    t = EvaluatorScore.__table__.c
    q = select(t.evaluator, t.chair, t.dimension, t.score, t.comment, t.evidence, t.at).where(t.submission_id == sub_id)
    if known_on is not None:
        q = q.where(t.at <= known_on)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in conn.execute(q.order_by(t.at, t.id)).mappings():
        latest[(r["evaluator"], r["dimension"])] = dict(r)
    return list(latest.values())


def combine(scheme: Any, pre: Any, rows: list[dict[str, Any]]) -> EvaluatedScore:
    """Combine the evaluators' scores by the scheme's rule, beside the pre-score ``pre`` (ScoreResult)."""
    pre_dims = {d.name: d.score for d in (pre.dimensions or [])}
    out: list[DimensionVerdict] = []
    for d in scheme.dimensions:
        entries = sorted((r for r in rows if r["dimension"] == d.name), key=lambda r: (not r["chair"], r["evaluator"]))
        chair = next((r for r in entries if r["chair"]), None)
        if not entries:
            score, how = None, "尚未评分"
        elif scheme.combine == "chair" and chair is not None:
            score, how = chair["score"], f"组长 {chair['evaluator']} 决定"
        else:
            score = round(sum(r["score"] for r in entries) / len(entries), 1)
            how = f"{len(entries)} 位专家平均" if len(entries) > 1 else f"{entries[0]['evaluator']} 评分"
        out.append(DimensionVerdict(d.name, d.weight, pre_dims.get(d.name), score, how, entries))
    complete = bool(out) and all(x.score is not None for x in out)
    total = round(sum(x.score for x in out if x.score is not None), 1) if complete else None
    grade = next(g.grade for g in scheme.grades if total >= g.min) if total is not None else None
    return EvaluatedScore(out, total, grade, pre.total, complete)
