"""``tracker schedule run``: APScheduler 3.11 (BlockingScheduler) with its job store in the project's
own database, time zone Asia/Shanghai on the scheduler and on every trigger, a long misfire grace,
``coalesce=True``, ``max_instances=1`` and fixed job ids with ``replace_existing=True`` (a restart
replaces the jobs instead of adding copies).

Jobs (ids are fixed):

- ``monthly:<CODE>`` cron, day ``TRACKER_SCHEDULE_DAY`` at ``TRACKER_SCHEDULE_TIME`` (default the 1st 09:00)
- ``midterm:<CODE>`` once, on the mid-term date at the same time (only while still in the future)
- ``final:<CODE>`` once, the day after the period ends (only while still in the future)
- ``digest`` cron, with the monthly emails
- ``sweep`` every 15 minutes and once at start: catch-up after downtime, retries, new projects

Only one scheduler may run per database: a PostgreSQL advisory lock, or a file lock next to the
SQLite file. SIGTERM and SIGINT stop it cleanly (between two messages).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from filelock import FileLock, Timeout
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from tracker import clock, config
from tracker.clock import TZ, TZ_NAME
from tracker.errors import TrackerError
from tracker.scheduling import jobs
from tracker.scheduling.plan import months, next_month
from tracker.scheduling.settings import ScheduleSettings, schedule_settings
from tracker.scheduling.tick import project_dates
from tracker.workspace import Workspace

log = logging.getLogger("tracker.scheduling")

JOBS_TABLE = "apscheduler_jobs"
ADVISORY_KEY = 727275  # pg_advisory_lock key of "the scheduler" (727274 is the migration lock)
MISFIRE_GRACE = 7 * 24 * 3600  # a job due while the process was down still runs within a week
SWEEP_MINUTES = 15
JOB_DEFAULTS = {"misfire_grace_time": MISFIRE_GRACE, "coalesce": True, "max_instances": 1}


class SchedulerLock:
    """The single-scheduler guard: PostgreSQL advisory lock, or a file lock for SQLite."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._conn: Connection | None = None
        self._file: FileLock | None = None

    @property
    def where(self) -> str:
        url = self.ws.engine.url
        if url.get_backend_name() == "postgresql":
            return f"PostgreSQL 咨询锁 {ADVISORY_KEY}（{url.render_as_string(hide_password=True)}）"
        return str(self.lock_path())

    def lock_path(self) -> Path:
        db = make_url(str(self.ws.engine.url)).database or "memory"
        return Path(f"{db}.scheduler.lock") if db != ":memory:" else config.data_dir() / "scheduler.lock"

    def acquire(self) -> None:
        if self.ws.engine.dialect.name == "postgresql":
            conn = self.ws.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar():
                conn.close()
                raise TrackerError("另一个调度器已在运行（同一数据库只能运行一个 tracker schedule run）")
            self._conn = conn
        else:
            lock = FileLock(str(self.lock_path()))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                raise TrackerError(f"另一个调度器已在运行（锁文件 {self.lock_path()} 被占用）") from None
            self._file = lock

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            self._file.release()
            self._file = None


def desired_jobs(ws: Workspace, settings: ScheduleSettings, now: dt.datetime) -> list[dict[str, Any]]:
    """The job definitions (add_job keyword arguments) for the projects as they are now."""
    at = {"hour": settings.hour, "minute": settings.minute}
    today = clock.local_date(now)
    out: list[dict[str, Any]] = []
    for p in sorted(project_dates(ws), key=lambda p: p.code):
        last_monthly = next_month(months(p.start, p.end)[-1]).replace(day=settings.day)
        if last_monthly >= today:
            out.append({"id": f"monthly:{p.code}", "func": jobs.monthly_job, "args": [p.code],
                        "trigger": CronTrigger(day=settings.day, **at, timezone=TZ),
                        "name": f"{p.code} 月度进度邮件"})
        for kind, day, func in (("midterm", p.midterm, jobs.midterm_job),
                                ("final", p.end + dt.timedelta(days=1), jobs.final_job)):
            run_at = clock.at_local(day, settings.hour, settings.minute)
            if run_at > now:
                out.append({"id": f"{kind}:{p.code}", "func": func, "args": [p.code],
                            "trigger": DateTrigger(run_date=run_at, timezone=TZ),
                            "name": f"{p.code} {'中期' if kind == 'midterm' else '终期'}报告"})
    out.append({"id": "digest", "func": jobs.digest_job, "args": [],
                "trigger": CronTrigger(day=settings.day, **at, timezone=TZ), "name": "全市月度汇总"})
    out.append({"id": "sweep", "func": jobs.sweep_job, "args": [],
                "trigger": IntervalTrigger(minutes=SWEEP_MINUTES, timezone=TZ),
                "next_run_time": now, "name": "补发与重试"})
    return out


def build_scheduler(ws: Workspace, settings: ScheduleSettings, now: dt.datetime | None = None
                    ) -> BlockingScheduler:
    sched = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=ws.engine, tablename=JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(1)},  # one tick at a time inside the process
        job_defaults=JOB_DEFAULTS,
        timezone=TZ_NAME,
    )
    now = now or clock.now()
    wanted = desired_jobs(ws, settings, now)
    for job in wanted:
        sched.add_job(replace_existing=True, **JOB_DEFAULTS, **job)
    wanted_ids = {j["id"] for j in wanted}

    def prune(_event: object) -> None:
        """Remove stored jobs no longer wanted (a project removed, a date passed)."""
        for job in sched.get_jobs():
            if job.id not in wanted_ids:
                log.info("删除过期任务 %s", job.id)
                job.remove()

    sched.add_listener(prune, EVENT_SCHEDULER_STARTED)
    return sched


def run_scheduler(ws: Workspace, *, specs: Path | None = None, once: bool = False,
                  settings: ScheduleSettings | None = None,
                  on_started: Callable[[BlockingScheduler], None] | None = None) -> None:
    """Run until SIGTERM/SIGINT (or, with ``once``, register the jobs, run one sweep and stop)."""
    settings = settings or schedule_settings()
    lock = SchedulerLock(ws)
    lock.acquire()
    jobs.STATE.db_url = ws.engine.url.render_as_string(hide_password=False)
    jobs.STATE.specs = specs or config.specs_dir()
    jobs.STATE.ws = ws
    jobs.STATE.stop.clear()
    old: dict[int, Any] = {}
    try:
        if once:
            jobs.sweep_job()
        sched = build_scheduler(ws, settings)

        def stop(signum: int, _frame: object) -> None:
            log.info("收到信号 %s，正在停止调度器", signum)
            jobs.STATE.stop.set()
            if sched.running:
                sched.shutdown(wait=True)

        for sig in (signal.SIGTERM, signal.SIGINT):
            old[sig] = signal.signal(sig, stop)

        def started(_event: object) -> None:
            if on_started is not None:
                on_started(sched)
            if once:
                jobs.STATE.stop.set()
                sched.shutdown(wait=False)

        sched.add_listener(started, EVENT_SCHEDULER_STARTED)
        sched.start()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        lock.release()


def stored_jobs(ws: Workspace) -> list[tuple[str, dt.datetime | None]]:
    """(job id, next run time in Beijing time) from the job store, without starting a scheduler."""
    from sqlalchemy import inspect

    if not inspect(ws.engine).has_table(JOBS_TABLE):
        return []
    with ws.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE} ORDER BY next_run_time, id")).all()
    return [(r[0], dt.datetime.fromtimestamp(r[1], TZ) if r[1] is not None else None) for r in rows]
