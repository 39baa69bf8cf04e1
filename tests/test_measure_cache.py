"""Remembered figures (tracker.measure.cache) are never stale: every kind of write to a project changes
the next figure read, whoever wrote it, and a write to one project recomputes that project only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert

from tracker import dashboard
from tracker.db.models import Activity
from tracker.measure import cache
from tracker.measure import progress as eng
from tracker.measure.judgements import record_judgement
from tracker.records import import_rows
from tracker.records.corrections import amend, void
from tracker.records.listing import undo_batch
from tracker.workspace import open_workspace

SPECS = Path(__file__).resolve().parent / "fixtures" / "reports"
A, B = "2099B001", "2099B002"
AS_OF = dt.date(2024, 12, 31)


@pytest.fixture
def ws(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.delenv("TRACKER_PROGRESS_CACHE", raising=False)
    w = open_workspace(db_url, SPECS)
    for code, people in ((A, ["P1", "P2", "P9"]), (B, ["Q1"])):
        rows = [{"服务对象编号": p, "姓名": "张三", "人群": "留守独居老人", "乡镇街道": "寿昌镇", "建档日期": "2024-06-05"}
                for p in people]
        assert import_rows(w, code, "roster", rows, source_name="名册.xlsx", entered_by="op").committed
    return w


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The projects whose progress was computed (not taken from the cache), in order."""
    calls: list[str] = []
    real = eng.compute_progress

    def counting(ws, code, as_of, known_on=None):  # type: ignore[no-untyped-def]
        calls.append(code)
        return real(ws, code, as_of, known_on)

    monkeypatch.setattr(eng, "compute_progress", counting)
    return calls


def visits(ws) -> float | None:  # type: ignore[no-untyped-def]
    """探访总人次 of A as the dashboard shows it."""
    board = dashboard.build_dashboard(ws, A, AS_OF)
    return next(r.kpi.actual for r in board.rows if r.kpi.id == f"{A}.2.visits_total")


def visit(rid: str, day: str, person: str = "P1") -> dict[str, str]:
    return {"记录编号": rid, "日期": day, "活动类型": "上门探访", "服务对象编号": person}


def test_every_write_changes_the_next_figure(ws, computed: list[str]) -> None:  # type: ignore[no-untyped-def]
    r = import_rows(ws, A, "activity", [visit("V1", "2024-07-01"), visit("V2", "2024-07-02")],
                    source_name="活动.xlsx", entered_by="op")
    assert r.committed
    assert visits(ws) == 2
    assert visits(ws) == 2 and computed == [A]  # the second view is remembered
    # an import through the library
    r2 = import_rows(ws, A, "activity", [visit("V3", "2024-08-01")], source_name="八月.xlsx", entered_by="op")
    assert visits(ws) == 3 and computed == [A, A]
    # a void (the record is retired, a correction row written): one fewer
    void(ws, A, "activity", "V1", "重复录入", "op")
    assert visits(ws) == 2
    # an amendment moving a visit past the as-of date: one fewer again
    amend(ws, A, "activity", "V2", {"日期": "2025-01-15"}, "日期写错", "op")
    assert visits(ws) == 1
    # undoing the August batch
    undo_batch(ws, r2.batch_id, "导错了文件", "op")
    assert visits(ws) == 0
    # a row written straight into the table, past the library (another process, a bulk load)
    with ws.engine.begin() as conn:
        conn.execute(insert(Activity.__table__).values(
            project_code=A, dedupe_key="raw-1", attributes={}, entered_by="raw", date=dt.date(2024, 9, 1),
            activity_type="home_visit", person_id="P9"))
    assert visits(ws) == 1


def test_a_judgement_changes_the_next_portfolio(ws) -> None:  # type: ignore[no-untyped-def]
    kid = f"{A}.6.experience"

    def status() -> str:
        line = next(ln for ln in dashboard.portfolio_lines(ws, AS_OF) if ln.progress.project == A)
        return next(k.status for k in line.progress.kpis if k.id == kid)

    assert status() == "pending"
    record_judgement(ws, kid, "met", "经验材料已提交", "审核员甲")
    assert status() == "met"
    record_judgement(ws, kid, "missed", "材料不全", "审核员甲")
    assert status() == "missed"


def test_a_write_to_one_project_recomputes_that_one_only(ws, computed: list[str]) -> None:  # type: ignore[no-untyped-def]
    cache.portfolio(ws, AS_OF)
    assert sorted(computed) == [A, B]
    computed.clear()
    cache.portfolio(ws, AS_OF)
    assert computed == []
    import_rows(ws, B, "activity", [visit("B1", "2024-07-01", "Q1")], source_name="b.xlsx", entered_by="op")
    got = {p.project: p for p in cache.portfolio(ws, AS_OF)}
    assert computed == [B]
    assert next(k.actual for k in got[B].kpis if k.id == f"{B}.2.visits_total") == 1
    # what a caller does to the figures it got does not reach the cache
    got[A].kpis.clear()
    assert {p.project: len(p.kpis) for p in cache.portfolio(ws, AS_OF)}[A] > 0


def test_the_cache_can_be_switched_off(ws, computed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKER_PROGRESS_CACHE", "0")
    cache.progress(ws, A, AS_OF)
    cache.progress(ws, A, AS_OF)
    assert computed == [A, A]


def test_warm_up_remembers_todays_portfolio(ws, computed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tracker import clock

    monkeypatch.setattr(clock, "today", lambda: AS_OF)
    dashboard.warm_up(ws)
    assert sorted(computed) == [A, B]
    dashboard.portfolio_lines(ws, AS_OF)
    assert sorted(computed) == [A, B]  # the first page view computed nothing


def test_two_askers_of_the_same_figure_compute_it_once(ws) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.3)
        return 42

    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(cache.remembered(ws, A, "slow", AS_OF, slow)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [42, 42, 42] and calls == [1]


def test_one_projects_version_is_read_as_the_portfolio_reads_it(ws) -> None:  # type: ignore[no-untyped-def]
    """A dashboard reads only its project's version after a write; it is the one the portfolio's
    GROUP BY reads, for a project with records, one with none, and after each write."""
    from tracker.measure.cache import _state

    def both() -> None:
        for code in (A, B, "2099X999"):
            st = _state(ws.engine)
            st.mark = None  # as if another process had written: read again
            one = cache.data_version(ws, code)
            assert one == cache.data_versions(ws).get(code, ()), code
        assert cache.data_version(ws, "2099X999") == ()

    both()
    before = cache.data_version(ws, A)
    assert import_rows(ws, A, "activity", [visit("V1", "2024-07-01")], source_name="台账.xlsx").committed
    both()
    assert cache.data_version(ws, A) != before and cache.data_version(ws, B) == cache.data_versions(ws)[B]


def test_the_warm_up_gives_way_to_a_page_being_computed(ws, computed: list[str],  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from tracker import clock

    monkeypatch.setattr(clock, "today", lambda: AS_OF)
    page_started, release = threading.Event(), threading.Event()

    def page() -> int:  # a figure a page is computing
        page_started.set()
        release.wait(5)
        return 1

    view = threading.Thread(target=lambda: cache.remembered(ws, A, "page", AS_OF, page))
    view.start()
    assert page_started.wait(5)
    warm = threading.Thread(target=dashboard.warm_up, args=(ws,))
    warm.start()
    warm.join(0.5)
    assert computed == [] and warm.is_alive()  # waiting while the page's figure is computed
    release.set()
    view.join(5)
    warm.join(10)
    assert not warm.is_alive() and sorted(computed) == [A, B]


def test_a_portfolio_computes_its_missing_figures_in_two_threads(ws, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Both projects are computed at the same time, by two threads (each waits at a barrier for the
    other: one thread alone could not get past it), and each once."""
    import threading

    real = eng.compute_progress
    barrier = threading.Barrier(2, timeout=10)
    by: dict[str, str] = {}

    def together(ws, code, as_of, known_on=None):  # type: ignore[no-untyped-def]
        by[code] = threading.current_thread().name
        barrier.wait()
        return real(ws, code, as_of, known_on)

    monkeypatch.setattr(eng, "compute_progress", together)
    got = cache.portfolio(ws, AS_OF)
    assert sorted(p.project for p in got) == [A, B]
    assert not barrier.broken and sorted(by) == [A, B] and by[A] != by[B]
    assert next(k.actual for k in got[[p.project for p in got].index(A)].kpis if k.id == f"{A}.2.visits_total") == 0


def test_a_portfolio_leaves_a_figure_being_computed_to_its_thread(ws, computed: list[str],  # type: ignore[no-untyped-def]
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A page computing A's figure while the portfolio is asked for: the portfolio computes B
    meanwhile, waits for A instead of computing it again, and A is computed once."""
    import threading

    real = eng.compute_progress  # the fixture's, which records each project computed
    started, release = threading.Event(), threading.Event()

    def slow_a(ws, code, as_of, known_on=None):  # type: ignore[no-untyped-def]
        if code == A:
            started.set()
            release.wait(10)
        return real(ws, code, as_of, known_on)

    monkeypatch.setattr(eng, "compute_progress", slow_a)
    page = threading.Thread(target=cache.progress, args=(ws, A, AS_OF))
    page.start()
    assert started.wait(5)
    out: list[list[object]] = []
    asker = threading.Thread(target=lambda: out.append(cache.portfolio(ws, AS_OF)))
    asker.start()
    for _ in range(500):
        if B in computed:
            break
        threading.Event().wait(0.01)
    assert computed == [B] and asker.is_alive()  # B done while A is still being computed: waiting for it
    release.set()
    page.join(10)
    asker.join(10)
    assert computed == [B, A] and sorted(p.project for p in out[0]) == [A, B]  # type: ignore[attr-defined]


def test_a_portfolio_thread_does_not_wait_behind_a_figure_another_thread_computes(  # type: ignore[no-untyped-def]
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A being computed by a page; the portfolio's two threads compute B and C side by side (each
    waits at a barrier for the other) instead of one of them waiting for A."""
    import shutil
    import threading

    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.delenv("TRACKER_PROGRESS_CACHE", raising=False)
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs, ignore=shutil.ignore_patterns("*.py"))
    c = "2099B003"
    (specs / f"{c}.yaml").write_text((specs / f"{B}.yaml").read_text("utf-8").replace(B, c), "utf-8")
    w = open_workspace(db_url, specs)
    real = eng.compute_progress
    started, release = threading.Event(), threading.Event()
    barrier, passed = threading.Barrier(2, timeout=10), threading.Event()

    def slow(ws, code, as_of, known_on=None):  # type: ignore[no-untyped-def]
        if code == A:
            started.set()
            release.wait(20)
        else:
            barrier.wait()
            passed.set()
        return real(ws, code, as_of, known_on)

    monkeypatch.setattr(eng, "compute_progress", slow)
    page = threading.Thread(target=cache.progress, args=(w, A, AS_OF))
    page.start()
    assert started.wait(5)
    out: list[list[object]] = []
    asker = threading.Thread(target=lambda: out.append(cache.portfolio(w, AS_OF)))
    asker.start()
    both = passed.wait(15)  # B and C at the barrier together, while A is still being computed
    release.set()
    page.join(20)
    asker.join(20)
    assert both and not barrier.broken
    assert sorted(p.project for p in out[0]) == [A, B, c]  # type: ignore[attr-defined]
