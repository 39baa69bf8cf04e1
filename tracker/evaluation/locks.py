"""Locks: an approved mid-term or final evaluation freezes the records dated in its period.

An import, amendment or voiding that would add, change or withdraw a record dated inside a locked
evaluation is refused with a message naming the evaluation, until an auditor unlocks it (with a
reason, recorded in the submission's history and the audit trail). Records without a date of
their own (roster, staff, credentials) are not locked: they count towards figures through dated
activities. The signed report does not depend on locks: it is computed as known at signing time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from tracker import clock
from tracker.db.evaluation import Submission
from tracker.errors import TrackerError


def active_locks(conn: Any, project: str) -> list[Any]:
    t = Submission.__table__
    q = select(t.c.kind, t.c.period_start, t.c.period_end, t.c.approved_by, t.c.approved_at).where(
        t.c.project_code == project, t.c.locked.is_(True)).order_by(t.c.period_end)
    return list(conn.execute(q))


def _refuse(project: str, lock: Any, day: dt.date, what: str) -> TrackerError:
    title = {"midterm": "中期评估", "final": "终期评估"}.get(lock.kind, "评估")
    at = clock.local_text(lock.approved_at, "%Y-%m-%d")
    return TrackerError(
        f"{what}被拒绝：记录日期 {day.isoformat()} 在项目 {project} 已批准的{title}"
        f"（{lock.period_start} 至 {lock.period_end}，{lock.approved_by or '审核人'} 于 {at} 批准）范围内，"
        f"该期数据已锁定，未写入任何记录。如确需修改，请审核人先解锁该{title}并写明原因，然后重新操作")


def check_dates(conn_or_session: Any, project: str, dates: Iterable[dt.date | None], what: str) -> None:
    """Refuse (TrackerError) when any of ``dates`` falls inside a locked evaluation of ``project``."""
    conn = conn_or_session.connection() if hasattr(conn_or_session, "flush") else conn_or_session
    locks = active_locks(conn, project)
    if not locks:
        return
    for d in sorted({d for d in dates if d is not None}):
        for lock in locks:
            if lock.period_start <= d <= lock.period_end:
                raise _refuse(project, lock, d, what)


def check_batch(session: Any, model: Any, batch_id: int, project: str, what: str = "导入") -> None:
    """An import batch: refused when it inserted a record dated inside a locked evaluation."""
    conn = session.connection()
    locks = active_locks(conn, project)
    table = model.__table__
    if not locks or "date" not in table.c:
        return
    for lock in locks:
        first = conn.execute(select(func.min(table.c.date)).where(
            table.c.batch_id == batch_id, table.c.date >= lock.period_start, table.c.date <= lock.period_end)).scalar()
        if first is not None:
            if isinstance(first, str):
                first = dt.date.fromisoformat(first)
            raise _refuse(project, lock, first, what)
