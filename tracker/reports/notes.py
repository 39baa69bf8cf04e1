"""The NGO's explanations shown in reports: 未完成原因 (reason), 改进措施 (remedy), 下一步计划 (plan).

Kept in the ``Explanation`` table with their author and date; a report as known on K shows the
explanations recorded by then. A later note on the same KPI and topic does not overwrite an earlier
one: the report lists them in order.
"""

from __future__ import annotations

import datetime as dt

from tracker import audit, clock
from tracker.db.models import Explanation
from tracker.errors import TrackerError
from tracker.records.scrub import scrub_text
from tracker.text import did_you_mean
from tracker.workspace import Workspace

TOPICS: dict[str, str] = {"reason": "未完成原因", "remedy": "改进措施", "plan": "下一步计划"}


def resolve_kpi(ws: Workspace, code: str, kpi: str) -> str:
    """A KPI id from its full id (``2024B004E.2.visits_total``) or its key (``visits_total``)."""
    spec = ws.spec(code)
    ids = {spec.kpi_id(c, k): k.key for c, k in spec.iter_kpis()}
    if kpi in ids:
        return kpi
    matches = [i for i, key in ids.items() if key == kpi]
    if len(matches) == 1:
        return matches[0]
    raise TrackerError(f"项目 {code} 没有指标 “{kpi}”{did_you_mean(kpi, [*ids, *ids.values()])}")


def add_note(ws: Workspace, code: str, topic: str, text: str, author: str, kpi: str | None = None,
             at: dt.datetime | None = None) -> Explanation:
    """Record an explanation; ``kpi`` may be omitted for a project-wide note (typically the plan)."""
    ws.loaded(code)
    if topic not in TOPICS:
        raise TrackerError(f"--topic 只能是 reason（未完成原因）、remedy（改进措施）或 plan（下一步计划），收到 “{topic}”")
    text = scrub_text((text or "").strip())  # no ID or phone number in clear in a report
    if not text:
        raise TrackerError("--text 不能为空：请写明具体内容")
    author = (author or "").strip()
    if not author:
        raise TrackerError("--author 不能为空：请写明填写人")
    if topic in ("reason", "remedy") and not kpi:
        raise TrackerError(f"{TOPICS[topic]}须针对某个指标：请用 --kpi 指明（指标编号或 key）")
    kpi_id = resolve_kpi(ws, code, kpi) if kpi else None
    row = Explanation(project_code=code, kpi_id=kpi_id, topic=topic, text=text, author=author,
                      recorded_at=clock.utc(at) if at is not None else clock.now())
    with ws.session() as s:
        s.add(row)
        s.flush()
        audit.record_row(s, "note", Explanation, row.id, author)
        s.commit()
        s.refresh(row)
    return row
