"""The scheduler's job functions. APScheduler's SQLAlchemy job store pickles them as
``tracker.scheduling.jobs:<name>``: these names are stable (renaming one orphans stored jobs) and the
arguments are plain project codes (never a database URL or password). Every job just calls ``tick``
for its slice; the outbox makes any number of runs harmless."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tracker.db.outbox import ALL_PROJECTS

log = logging.getLogger("tracker.scheduling")


@dataclass
class _State:
    """Set by ``run_scheduler`` in the scheduler process only."""

    db_url: str | None = None
    specs: Path | None = None
    ws: object | None = None
    stop: threading.Event = field(default_factory=threading.Event)


STATE = _State()


def _workspace():  # type: ignore[no-untyped-def]
    """A fresh workspace so that changed specs are picked up; the last good one if a spec is broken."""
    from tracker.workspace import open_workspace

    try:
        STATE.ws = open_workspace(STATE.db_url, STATE.specs)
    except Exception:
        if STATE.ws is None:
            raise
        log.exception("重新加载规格失败，沿用上次加载的规格")
    return STATE.ws


def _run(kinds: set[str] | None, codes: set[str] | None) -> None:
    from tracker.scheduling.tick import tick

    if STATE.stop.is_set():
        return
    try:
        rows = tick(_workspace(), kinds=kinds, codes=codes, should_stop=STATE.stop.is_set)
    except Exception:
        log.exception("调度任务失败（kinds=%s, codes=%s）；下次运行将重试", kinds, codes)
        raise
    sent = sum(r.state == "sent" for r in rows)
    log.info("任务完成：发送 %d 封，失败 %d 封", sent, len(rows) - sent)


def monthly_job(code: str) -> None:
    _run({"monthly"}, {code})


def midterm_job(code: str) -> None:
    _run({"midterm"}, {code})


def final_job(code: str) -> None:
    _run({"final"}, {code})


def digest_job() -> None:
    _run({"digest"}, {ALL_PROJECTS})


def sweep_job() -> None:
    """Everything: catch-up after downtime, retries after backoff, projects added since the start."""
    _run(None, None)
