"""Import batches that are not published yet: who owns them, and clearing away abandoned ones.

A large import (``tracker.records.importer``) writes its batch row first, with ``published_at``
empty, then its rows a chunk per short transaction, and finally publishes the batch in one short
transaction. Its rows are invisible until then (``tracker.records.visibility``). The batch row names
its owner (host, process id and the process's start time) and carries a heartbeat, refreshed with
every chunk. An import that was killed (``kill -9``, a power cut) leaves an unpublished batch behind:
it counts nowhere, and the next import clears it away (``clear_abandoned``), also in short
transactions. A batch is abandoned when its owner process on this host is gone, or, whatever the
host, when its heartbeat is older than ``TRACKER_STAGING_STALE_SECONDS`` (default 600).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, func, select

from tracker import clock
from tracker.db.models import RECORD_TABLES, ImportBatch

DELETE_WINDOW = 20_000  # ids per short DELETE transaction


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a reused process id is told
    apart; elsewhere empty."""
    try:
        stat = open(f"/proc/{pid}/stat", encoding="ascii").read()  # noqa: SIM115
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()[:120]


def owner_token() -> str:
    pid = os.getpid()
    return f"{_host()}:{pid}:{_start_time(pid)}"


def _owner_gone(owner: str | None) -> bool:
    """Whether the owner process is certainly gone (only decidable on this host)."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    return bool(started) and _start_time(pid) not in ("", started)


def stale_seconds() -> float:
    raw = os.environ.get("TRACKER_STAGING_STALE_SECONDS", "").strip()
    try:
        return float(raw) if raw else 600.0
    except ValueError:
        return 600.0


def _aware(v: Any) -> dt.datetime | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v)
    return clock.stored(v)


def abandoned(conn: Any) -> list[Any]:
    """Unpublished batches whose import is gone."""
    b = ImportBatch.__table__
    rows = conn.execute(select(b.c.id, b.c.kind, b.c.owner, b.c.heartbeat_at, b.c.started_at)
                        .where(b.c.published_at.is_(None))).all()
    now = clock.now()
    out = []
    for r in rows:
        beat = _aware(r.heartbeat_at) or _aware(r.started_at)
        if _owner_gone(r.owner) or beat is None or (now - beat).total_seconds() > stale_seconds():
            out.append(r)
    return out


def discard(engine: Any, batch_id: int, kind: str) -> int:
    """Delete the rows of an unpublished batch and then the batch, in short transactions. Returns the
    rows deleted. Never touches a published batch."""
    b = ImportBatch.__table__
    t = RECORD_TABLES[kind].__table__
    with engine.connect() as conn:
        state = conn.execute(select(b.c.published_at).where(b.c.id == batch_id)).first()
        if state is None or state[0] is not None:
            return 0
        lo, hi = conn.execute(select(func.min(t.c.id), func.max(t.c.id)).where(t.c.batch_id == batch_id)).one()
        conn.rollback()
        n = 0
        if lo is not None:
            for a in range(int(lo), int(hi) + 1, DELETE_WINDOW):
                n += conn.execute(delete(t).where(t.c.id >= a, t.c.id < a + DELETE_WINDOW,
                                                  t.c.batch_id == batch_id)).rowcount or 0
                conn.commit()
        conn.execute(delete(b).where(b.c.id == batch_id, b.c.published_at.is_(None)))
        conn.commit()
    return n


def clear_abandoned(engine: Any) -> int:
    """Clear away every abandoned unpublished batch; the number of batches cleared."""
    with engine.connect() as conn:
        gone = abandoned(conn)
        conn.rollback()
    for r in gone:
        if r.kind in RECORD_TABLES:
            discard(engine, int(r.id), r.kind)
    return len(gone)
