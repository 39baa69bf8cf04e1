"""What ``tracker schedule status`` shows: the scheduler's next runs (from the job store), the next
messages due, and the outbox (counts by state in SQL, the latest failures)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlmodel import Session

from tracker.db.outbox import OUTBOX_STATES, Outbox
from tracker.errors import TrackerError
from tracker.scheduling.plan import DueItem, upcoming
from tracker.scheduling.service import stored_jobs
from tracker.scheduling.settings import schedule_settings, smtp_settings
from tracker.scheduling.tick import OutboxRow, effective_as_of, project_dates
from tracker.workspace import Workspace

STATE_CN = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "retry": "待重试", "failed": "失败",
            "cancelled": "已取消"}


@dataclass
class ScheduleStatus:
    as_of: dt.date
    counts: dict[str, int]
    failures: list[OutboxRow]
    upcoming: list[DueItem]
    jobs: list[tuple[str, dt.datetime | None]]
    smtp: str | None


def outbox_counts(ws: Workspace) -> dict[str, int]:
    with Session(ws.engine) as s:
        rows = s.execute(select(Outbox.state, func.count()).group_by(Outbox.state)).all()
    out = dict.fromkeys(OUTBOX_STATES, 0)
    out.update({state: n for state, n in rows})
    return out


def recent_failures(ws: Workspace, limit: int = 10) -> list[OutboxRow]:
    with Session(ws.engine) as s:
        rows = s.execute(select(Outbox).where(Outbox.last_error.is_not(None),  # type: ignore[union-attr]
                                              Outbox.state.in_(("retry", "failed", "cancelled")))  # type: ignore[attr-defined]
                         .order_by(Outbox.id.desc()).limit(limit)).scalars().all()  # type: ignore[union-attr]
    return [OutboxRow.of(r) for r in rows]


def schedule_status(ws: Workspace, as_of: dt.date | None = None) -> ScheduleStatus:
    settings = schedule_settings()
    as_of = as_of or effective_as_of(settings)
    smtp = smtp_settings()
    return ScheduleStatus(as_of, outbox_counts(ws), recent_failures(ws),
                          upcoming(project_dates(ws), as_of, settings), stored_jobs(ws),
                          smtp.describe() if smtp else None)


def requeue_failed(ws: Workspace, row_id: int | None = None) -> int:
    """Put failed messages back in the queue (after fixing an address or the server)."""
    q = update(Outbox).where(Outbox.state == "failed")
    if row_id is not None:
        q = q.where(Outbox.id == row_id)
    with ws.engine.begin() as conn:
        n = conn.execute(q.values(state="retry", attempts=0, next_attempt_at=dt.datetime.now(dt.UTC))).rowcount
    if row_id is not None and not n:
        raise TrackerError(f"发件箱中没有编号为 {row_id} 的失败消息（用 tracker schedule status 查看）")
    return n or 0
