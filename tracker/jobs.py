"""Background jobs: reports produced off the request, with their progress in the database.

``submit`` queues a job; a worker (``Worker``, a thread the web app starts, or any process calling
``run_next``) claims one queued job at a time with a conditional UPDATE, so two workers never run the
same job. A page reads ``get_job`` to show the progress and, when done, the files. The worker also
deletes uploads past their 30 days (``tracker.uploads.sweep``) when it starts and every hour."""

from __future__ import annotations

import datetime as dt
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from tracker import config
from tracker.db.accounts import BackgroundJob
from tracker.db.models import utcnow
from tracker.errors import NotFound, TrackerError

JOB_KINDS = {"project_report": "项目报告", "portfolio": "全部项目汇总"}
WHICH = {"midterm": "中期", "final": "终期"}
SWEEP_SECONDS = 3600  # the worker deletes uploads past their 30 days this often (and when it starts)


def submit(ws, kind: str, account_id: int, project: str | None = None, **params: Any) -> BackgroundJob:  # type: ignore[no-untyped-def]
    if kind not in JOB_KINDS:
        raise TrackerError(f"未知的任务类型 {kind}")
    which = params.get("which", "midterm")
    if which not in WHICH:
        raise TrackerError("报告类型只能是 中期 或 终期")
    if project is not None:
        ws.spec(project)
    job = BackgroundJob(kind=kind, project_code=project, params=params, account_id=account_id,
                        message="排队中，请稍候")
    with ws.session() as s:
        s.add(job)
        s.commit()
        s.refresh(job)
    return job


def get_job(ws, job_id: int) -> BackgroundJob:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        job = s.get(BackgroundJob, job_id)
    if job is None:
        raise NotFound("未找到该任务")
    return job


def recent_jobs(ws, project: str | None, limit: int = 10) -> list[BackgroundJob]:  # type: ignore[no-untyped-def]
    q = select(BackgroundJob).where(BackgroundJob.project_code == project if project else
                                    BackgroundJob.project_code.is_(None))
    with ws.session() as s:
        return list(s.execute(q.order_by(BackgroundJob.id.desc()).limit(limit)).scalars())


def job_dir(job_id: int) -> Path:
    return config.data_dir() / "reports" / "web" / f"job-{job_id}"


def result_file(ws, job_id: int, name: str) -> Path:  # type: ignore[no-untyped-def]
    """One file a finished job wrote (only the names it recorded)."""
    job = get_job(ws, job_id)
    if job.state != "done" or name not in job.result:
        raise NotFound("未找到该报告文件")
    p = job_dir(job_id) / name
    if not p.is_file():
        raise NotFound("报告文件已被清理：请重新生成")
    return p


def _set(ws, job_id: int, **values: Any) -> None:  # type: ignore[no-untyped-def]
    with ws.engine.begin() as conn:
        conn.execute(update(BackgroundJob).where(BackgroundJob.id == job_id).values(**values))


def claim_next(ws) -> BackgroundJob | None:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        ids = list(s.execute(select(BackgroundJob.id).where(BackgroundJob.state == "queued")
                             .order_by(BackgroundJob.id).limit(5)).scalars())
    for job_id in ids:
        with ws.engine.begin() as conn:
            n = conn.execute(update(BackgroundJob).where(BackgroundJob.id == job_id, BackgroundJob.state == "queued")
                             .values(state="running", started_at=utcnow(), progress=5,
                                     message="正在计算进度")).rowcount
        if n == 1:
            return get_job(ws, job_id)
    return None


def run_job(ws, job: BackgroundJob) -> None:  # type: ignore[no-untyped-def]
    from tracker.reports.portfolio import render_portfolio
    from tracker.reports.project import render_project_report

    out = job_dir(job.id)
    which = job.params.get("which", "midterm")
    as_of = dt.date.fromisoformat(job.params["as_of"]) if job.params.get("as_of") else None
    try:
        _set(ws, job.id, progress=30, message="正在生成图表和 PDF（约需半分钟）")
        if job.kind == "project_report":
            files = render_project_report(ws, job.project_code, which, as_of, out)
        else:
            files = render_portfolio(ws, which, as_of, out)
        names = [p.name for p in (files.pdf, files.html, files.xlsx) if p is not None]
        _set(ws, job.id, state="done", progress=100, message="已完成", result=names, finished_at=utcnow())
    except TrackerError as e:
        _set(ws, job.id, state="failed", message=e.message, finished_at=utcnow())
    except Exception as e:  # keep the worker alive; say what went wrong
        traceback.print_exc()
        _set(ws, job.id, state="failed", message=f"生成失败（{type(e).__name__}）：请联系管理员查看日志",
             finished_at=utcnow())


def run_next(ws) -> bool:  # type: ignore[no-untyped-def]
    job = claim_next(ws)
    if job is None:
        return False
    run_job(ws, job)
    return True


class Worker(threading.Thread):
    """A daemon thread running queued jobs one at a time until ``stop()``."""

    def __init__(self, ws, poll: float = 0.5) -> None:  # type: ignore[no-untyped-def]
        super().__init__(name="tracker-jobs", daemon=True)
        self.ws, self.poll, self._stop_event = ws, poll, threading.Event()

    def run(self) -> None:
        # Jobs left running by a stopped server start again.
        _requeue_stale(self.ws)
        swept = None
        while not self._stop_event.is_set():
            if swept is None or time.monotonic() - swept >= SWEEP_SECONDS:
                swept = time.monotonic()
                _sweep(self.ws)
            try:
                busy = run_next(self.ws)
            except Exception:
                traceback.print_exc()
                busy = False
            if not busy:
                self._stop_event.wait(self.poll)

    def stop(self) -> None:
        self._stop_event.set()


def _sweep(ws) -> None:  # type: ignore[no-untyped-def]
    """Uploads older than 30 days deleted (``tracker.uploads.sweep``); a failure is printed, the
    worker goes on."""
    from tracker import uploads

    try:
        uploads.sweep(ws)
    except Exception:
        traceback.print_exc()


def _requeue_stale(ws) -> None:  # type: ignore[no-untyped-def]
    with ws.engine.begin() as conn:
        conn.execute(update(BackgroundJob).where(BackgroundJob.state == "running")
                     .values(state="queued", message="服务器重启，重新排队"))
