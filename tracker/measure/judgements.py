"""An auditor's verdict on a ``manual`` KPI; the latest one as known on a date counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker import audit
from tracker.db.models import Judgement, utcnow
from tracker.errors import TrackerError
from tracker.measure.compile import code_of, find_kpi
from tracker.measure.kinds import kind_of
from tracker.records.scrub import scrub_text

if TYPE_CHECKING:
    from tracker.workspace import Workspace

VERDICTS = {"met": "达标", "missed": "未达标"}


def record_judgement(ws: Workspace, kpi_id: str, verdict: str, evidence: str, author: str,
                     value: float | None = None) -> Judgement:
    """Record a verdict (``met`` or ``missed``) with its evidence on a manual KPI."""
    if verdict not in VERDICTS:
        raise TrackerError(f"评定结果 “{verdict}” 无效，应为 met（达标）或 missed（未达标）")
    if not evidence or not evidence.strip():
        raise TrackerError("必须给出评定依据（--evidence）")
    if not author or not author.strip():
        raise TrackerError("必须给出评定人（--author）")
    code = code_of(kpi_id)
    spec = ws.spec(code)
    _clause, kpi = find_kpi(spec, kpi_id)
    if not kind_of(kpi.kind).reads_judgements:
        raise TrackerError(f"指标 {kpi_id} 是 {kpi.kind.value} 类，由记录自动计算，不能人工评定")
    j = Judgement(project_code=code, kpi_id=kpi_id, verdict=verdict, value=value,
                  evidence=scrub_text(evidence.strip()), author=author.strip(), recorded_at=utcnow())
    with ws.session() as s:
        s.add(j)
        s.flush()
        audit.record_row(s, "judgement", Judgement, j.id, j.author)
        s.commit()
        s.refresh(j)
    return j
