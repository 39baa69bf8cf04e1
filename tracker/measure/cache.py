"""Figures remembered between page views, and never shown stale.

A project's progress (and its violation list) is remembered per (project, as-of date, the spec's
content, the project's data version), in this process, for the current records only (``known_on``
None). The data version of a project is the largest row id of each of its record tables, of its
corrections and of its judgements: every write that can change a figure adds a row to one of them
(a new record, an amendment's new version, a void's or an undo's correction row, a re-import's
retirement, a new judgement), because history is never rewritten; and the latest publication time
of its import batches, since a large import's rows, written while its batch was unpublished
(``tracker.records.staging``), become visible when the batch is published without a new row. So the version is read from the
database itself, whoever wrote (the web, the command line in another process, a bulk insert), and
a write to one project recomputes that project only.

Reading the versions: one cheap look at the largest id of each table (an index's last entry); only
when that moved since the last look are the per-project versions read again: for a project's own
figures (a dashboard), that project's alone (the largest id among its rows of each table, on the
table's project index: a few milliseconds); for the portfolio, every project's at once (one GROUP BY
per table over its project index, about 0.1 s with 1,000,000 activities). Set
``TRACKER_PROGRESS_CACHE=0`` to compute every time (benchmarks of the uncached path).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

T = TypeVar("T")
MAX_ENTRIES = 1024


def _tables() -> list[tuple[Any, Any]]:
    """(table, the column whose largest value moves with every write that can change a figure)."""
    from tracker.db.models import RECORD_TABLES, Correction, ImportBatch, Judgement

    tables = [m.__table__ for m in RECORD_TABLES.values()] + [Correction.__table__, Judgement.__table__]
    b = ImportBatch.__table__
    return [(t, t.c.id) for t in tables] + [(b, b.c.published_at)]


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy = 0  # figures being computed now for a view (not in the background)
        self.mark: tuple[Any, ...] | None = None  # the largest id of every table, last looked at
        self.versions: dict[str, tuple[Any, ...]] = {}  # read since the mark last moved
        self.complete = False  # versions holds every project's (read all at once)
        self.entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.inflight: dict[tuple[Any, ...], threading.Lock] = {}  # keys being computed now


_STATES: weakref.WeakKeyDictionary[Engine, _State] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def enabled() -> bool:
    return os.environ.get("TRACKER_PROGRESS_CACHE", "1") != "0"


_LOCAL = threading.local()
GIVE_WAY_SECONDS = 2.0  # the longest a background figure waits for the views being computed


@contextmanager
def background() -> Iterator[None]:
    """Figures computed in this thread (the start-up warm-up) give way to views: before each one it
    waits while another thread computes a figure for a page (at most ``GIVE_WAY_SECONDS`` each time),
    so a page asked for at start does not share the two cores with the warm-up."""
    _LOCAL.background = True
    try:
        yield
    finally:
        _LOCAL.background = False


@contextmanager
def portfolio_work() -> Iterator[None]:
    """Figures computed here are every project's (the portfolio page): the warm-up's own work, so it
    goes on beside them (each figure is computed once, by whichever asks first)."""
    before = getattr(_LOCAL, "portfolio", False)
    _LOCAL.portfolio = True
    try:
        yield
    finally:
        _LOCAL.portfolio = before


def _give_way(st: _State) -> None:
    deadline = time.monotonic() + GIVE_WAY_SECONDS
    while st.busy and time.monotonic() < deadline:
        time.sleep(0.005)


def _state(engine: Engine) -> _State:
    with _STATES_LOCK:
        st = _STATES.get(engine)
        if st is None:
            st = _STATES[engine] = _State()
        return st


def _look(st: _State, conn: Any, tables: list[tuple[Any, Any]]) -> None:
    """Read the mark; when it moved, forget the versions read for the old one (call with st.lock)."""
    mark = tuple(conn.execute(select(func.max(col))).scalar() for _, col in tables)
    if mark != st.mark:
        st.mark, st.versions, st.complete = mark, {}, False


def _version(values: list[Any]) -> tuple[Any, ...]:
    return tuple(values) if any(v is not None for v in values) else ()  # () : no row at all


def data_versions(ws: Any) -> dict[str, tuple[Any, ...]]:
    """Every project's data version, read now: a project's changes whenever a record, correction or
    judgement of it is written."""
    st = _state(ws.engine)
    tables = _tables()
    with ws.engine.connect() as conn, st.lock:
        _look(st, conn, tables)
        if not st.complete:
            per: dict[str, list[Any]] = {}
            for i, (t, col) in enumerate(tables):
                for c, m in conn.execute(select(t.c.project_code, func.max(col)).group_by(t.c.project_code)):
                    per.setdefault(c, [None] * len(tables))[i] = m
            st.versions = {c: _version(v) for c, v in per.items()}
            st.complete = True
        return st.versions


def data_version(ws: Any, code: str) -> tuple[Any, ...]:
    """One project's data version, read now (``data_versions(ws).get(code, ())``, reading only that
    project's rows when the mark moved)."""
    st = _state(ws.engine)
    tables = _tables()
    with ws.engine.connect() as conn, st.lock:
        _look(st, conn, tables)
        if st.complete or code in st.versions:
            return st.versions.get(code, ())
        v = _version([conn.execute(select(func.max(col)).where(t.c.project_code == code)).scalar()
                      for t, col in tables])
        st.versions[code] = v
        return v


def _key(ws: Any, code: str, what: str, as_of: dt.date,
         versions: dict[str, tuple[Any, ...]] | None) -> tuple[Any, ...]:
    version = versions.get(code, ()) if versions is not None else data_version(ws, code)
    return (code, what, as_of, ws.loaded(code).sha256, version)


def remembered(ws: Any, code: str, what: str, as_of: dt.date, compute: Callable[[], T],
               versions: dict[str, tuple[Any, ...]] | None = None) -> T:
    """``compute()`` for (project, what, as_of), or the copy remembered for the same spec and data
    version (``versions``: as just read by ``data_versions``, else read now). The value is computed
    after its version was read, so it is never older than its key."""
    if not enabled():
        return compute()
    st = _state(ws.engine)
    if getattr(_LOCAL, "background", False):
        _give_way(st)
    foreground = not (getattr(_LOCAL, "background", False) or getattr(_LOCAL, "portfolio", False))
    key = _key(ws, code, what, as_of, versions)
    with st.lock:
        if key in st.entries:
            st.entries.move_to_end(key)
            return copy.deepcopy(st.entries[key])
        running = st.inflight.setdefault(key, threading.Lock())
    with running:  # a second asker of the same figure waits for the first instead of computing it again
        with st.lock:
            if key in st.entries:
                return copy.deepcopy(st.entries[key])
            st.busy += foreground
        try:
            value = compute()
            with st.lock:
                st.entries[key] = copy.deepcopy(value)
                while len(st.entries) > MAX_ENTRIES:
                    st.entries.popitem(last=False)
        finally:
            with st.lock:
                st.inflight.pop(key, None)
                st.busy -= foreground
    return value


def _progress_of(ws: Any, code: str, as_of: dt.date) -> Callable[[], Any]:
    from tracker.measure.progress import compute_progress

    return lambda: compute_progress(ws, code, as_of)


def progress(ws: Any, code: str, as_of: dt.date, versions: dict[str, tuple[Any, ...]] | None = None) -> Any:
    """``compute_progress(ws, code, as_of)`` of the current records, remembered."""
    return remembered(ws, code, "progress", as_of, _progress_of(ws, code, as_of), versions)


def _prime_progress(ws: Any, code: str, as_of: dt.date, versions: dict[str, tuple[Any, ...]]) -> None:
    """Compute and remember ``progress`` unless it is remembered or another thread is computing it now
    (then that thread's figure is the one remembered)."""
    st = _state(ws.engine)
    key = _key(ws, code, "progress", as_of, versions)
    with st.lock:
        if key in st.entries or key in st.inflight:
            return
    remembered(ws, code, "progress", as_of, _progress_of(ws, code, as_of), versions)


PORTFOLIO_THREADS = 2  # threads computing a portfolio's missing figures (the database works while Python waits)


def _fill(ws: Any, dates: dict[str, dt.date], versions: dict[str, tuple[Any, ...]]) -> None:
    """Compute the figures of ``dates`` not remembered yet in ``PORTFOLIO_THREADS`` threads, each
    taking the next project; a project another thread (the warm-up, another page) is computing now is
    left to it. A failure here is not raised: the caller computes that figure again and raises it."""
    todo = iter(list(dates))
    lock = threading.Lock()
    background = getattr(_LOCAL, "background", False)

    def work() -> None:
        _LOCAL.portfolio, _LOCAL.background = True, background
        while True:
            with lock:
                code = next(todo, None)
            if code is None:
                return
            with contextlib.suppress(Exception):
                _prime_progress(ws, code, dates[code], versions)

    helpers = [threading.Thread(target=work, name="tracker-portfolio", daemon=True)
               for _ in range(PORTFOLIO_THREADS - 1)]
    for t in helpers:
        t.start()
    before = getattr(_LOCAL, "portfolio", False)
    try:
        work()
    finally:
        _LOCAL.portfolio = before
        for t in helpers:
            t.join()


def portfolio(ws: Any, as_of: dt.date) -> list[Any]:
    """``compute_portfolio(ws, as_of, cap_to_period=True)`` of the current records, each project remembered."""
    from tracker.measure.progress import portfolio_order

    versions = data_versions(ws) if enabled() else None
    dates = {code: min(as_of, ws.spec(code).project.period.end) for code in ws.codes}
    if versions is not None:
        _fill(ws, dates, versions)
    with portfolio_work():
        out = [progress(ws, code, day, versions) for code, day in dates.items()]
    return sorted(out, key=portfolio_order)

