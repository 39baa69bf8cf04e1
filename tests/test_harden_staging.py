"""No write holds the database for long: a large import stages its rows in short transactions,
invisible until one short transaction publishes the batch.

Real processes on a real SQLite file (and PostgreSQL): while a large import runs, ``tracker log``,
``tracker judge`` and a 20k-row import each succeed, and each finishes while the large batch is still
unpublished (so none of them waited for it); the final counts are exact. A killed import leaves an
unpublished batch that nothing counts and the next import clears away."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, SPECS, counts, write_csv

from tracker.db.models import Activity, ImportBatch, Judgement
from tracker.records import import_file
from tracker.records.visibility import visible
from tracker.workspace import open_workspace

TRACKER = Path(sys.executable).parent / "tracker"
BIG = 400_000  # several seconds of importing even on an idle machine (the 1M version: bench/bench_staging.py)
SMALL = 20_000
MANUAL = """  - clause: 9
    text: 建立服务档案制度
    kpis:
      - {key: rules, kind: manual, label: 档案制度, unit: 项}
"""


def _activities(path: Path, n: int, start: int = 0) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["日期", "活动类型", "服务对象编号", "参与人数", "小组名称"])
        for i in range(start, start + n):
            w.writerow([f"2024-{7 + i % 6:02d}-{1 + i % 28:02d}", "培训", "", 5 + i % 40, f"第{i}场"])
    return path


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    d = tmp_path / "specs"
    d.mkdir()
    (d / "B901.yaml").write_text((SPECS / "B901.yaml").read_text("utf-8").rstrip("\n") + "\n" + MANUAL, "utf-8")
    return d


def _visible_activities(ws) -> int:  # type: ignore[no-untyped-def]
    with ws.engine.connect() as c:
        return c.execute(select(func.count()).select_from(Activity).where(visible(Activity))).scalar_one()


def _published(ws, bid: int) -> bool:  # type: ignore[no-untyped-def]
    b = ImportBatch.__table__
    with ws.engine.connect() as c:
        return c.execute(select(b.c.published_at).where(b.c.id == bid)).scalar() is not None


def _staging_batch(ws, proc: subprocess.Popen[str], timeout: float = 120) -> int:  # type: ignore[no-untyped-def]
    """Wait until the large import has committed its unpublished batch and a first chunk."""
    b = ImportBatch.__table__
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        with ws.engine.connect() as c:
            bid = c.execute(select(b.c.id).where(b.c.published_at.is_(None))).scalar()
            if bid is not None and c.execute(select(func.count()).select_from(Activity).where(
                    Activity.batch_id == bid)).scalar_one() > 0:
                return int(bid)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("the large import never started staging")


@pytest.mark.slow
def test_other_writers_succeed_while_a_large_import_runs(env: dict[str, str], tmp_path: Path, db_url: str,
                                                         specs: Path) -> None:
    environ = {**os.environ, **env, "TRACKER_SPECS": str(specs), "TRACKER_DB_BUSY_SECONDS": "30"}
    ws = open_workspace(db_url, specs)
    import_file(ws, write_csv(tmp_path / "r.csv", ROSTER), CODE)
    big = _activities(tmp_path / "big.csv", BIG)
    small = _activities(tmp_path / "small.csv", SMALL, start=BIG)
    t_big = time.monotonic()
    proc = subprocess.Popen([str(TRACKER), "import", str(big), "--project", CODE], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        bid = _staging_batch(ws, proc)
        assert _visible_activities(ws) == 0  # staged rows are seen by nothing
        others = {
            "log": ["log", "activity", "--project", CODE, "--日期", "2025-01-15", "--活动类型", "培训", "--参与人数", "3"],
            "judge": ["judge", f"{CODE}.9.rules", "--verdict", "met", "--evidence", "档案制度文本已核查",
                      "--author", "审核员"],
            "import 20k": ["import", str(small), "--project", CODE],
        }
        t0 = time.monotonic()
        running = {name: subprocess.Popen([str(TRACKER), *args], env=environ, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True) for name, args in others.items()}
        took = {}
        for name, p in running.items():
            out, err = p.communicate(timeout=300)
            took[name] = time.monotonic() - t0
            assert p.returncode == 0, (name, err)
            assert "Traceback" not in out + err
            # it finished while the large import was still staging: it did not wait for it
            assert not _published(ws, bid), f"{name} finished only after the large import ({took})"
        out, err = proc.communicate(timeout=600)
        t_done = time.monotonic() - t_big
        assert proc.returncode == 0, err
        assert f"新增 {BIG} 条" in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    print(f"\nlarge import {t_done:.1f} s; finished during it: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
    c = counts(ws)
    assert c["activity"] == BIG + SMALL + 1 and c["roster"] == len(ROSTER) - 1
    assert c["batches"] == 4  # roster, large import, log, 20k import
    assert _visible_activities(ws) == BIG + SMALL + 1
    with ws.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Judgement)).scalar_one() == 1


def test_a_staged_import_publishes_changes_and_refuses_repeats_across_chunks(roster_ws, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Staging forced on a small file in chunks of 3: a changed row amends its record only when the
    batch is published; a row repeating an earlier chunk's changed row is refused, as unstaged."""
    ws = roster_ws
    rows = [["日期", "活动类型", "服务对象编号", "参与人数", "备注"]] + [
        [f"2024-07-{d:02d}", "培训", "", "5", "甲"] for d in range(1, 8)]
    first = import_file(ws, write_csv(tmp_path / "a.csv", rows), CODE, chunk_size=3)
    assert first.imported == 7
    monkeypatch.setenv("TRACKER_STAGE_ROWS", "1")
    changed = [r[:] for r in rows]
    changed[2][4] = changed[6][4] = "乙"  # 备注 edited on 07-02 and 07-06: two amendments
    r = import_file(ws, write_csv(tmp_path / "b.csv", changed), CODE, chunk_size=3)
    assert (r.imported, r.changed, r.unchanged, r.invalid_rows) == (0, 2, 5, 0)
    assert _visible_activities(ws) == 7
    c = counts(ws)
    assert c["activity"] == 9 and c["corrections"] == 2
    # the 07-02 row twice (both edited): the second is a repeat of the first
    again = [*(r[:] for r in changed), ["2024-07-02", "培训", "", "5", "丙"]]
    again[2][4] = again[6][4] = "丁"
    before = counts(ws)
    r = import_file(ws, write_csv(tmp_path / "c.csv", again), CODE, chunk_size=3)
    assert r.invalid_rows == 1 and not r.committed
    assert "第3行" in r.invalid[0].message, r.invalid
    assert counts(ws) == before  # the staged rows and batch were deleted


def test_a_killed_import_leaves_nothing_visible_and_the_next_import_clears_it(env: dict[str, str], tmp_path: Path,
                                                                              db_url: str, specs: Path) -> None:
    environ = {**os.environ, **env, "TRACKER_SPECS": str(specs)}
    ws = open_workspace(db_url, specs)
    import_file(ws, write_csv(tmp_path / "r.csv", ROSTER), CODE)
    big = _activities(tmp_path / "big.csv", 200_000)
    proc = subprocess.Popen([str(TRACKER), "import", str(big), "--project", CODE], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    bid = _staging_batch(ws, proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert _visible_activities(ws) == 0 and not _published(ws, bid)
    r = import_file(ws, write_csv(tmp_path / "a.csv", [["日期", "活动类型", "参与人数"], ["2024-07-02", "培训", "5"]]),
                    CODE)
    assert r.imported == 1
    c = counts(ws)
    assert c["activity"] == 1 and c["batches"] == 2  # the killed import's rows and batch are gone


def test_a_remembered_figure_changes_when_a_staged_batch_is_published(roster_ws, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress read while the batch is staging (its rows already have ids) is not reused once the
    batch is published: publishing moves the project's data version."""
    import datetime as dt

    from tracker.measure import cache

    ws = roster_ws
    monkeypatch.setenv("TRACKER_STAGE_ROWS", "1")
    as_of = dt.date(2025, 3, 31)

    def trainings() -> float:
        p = cache.progress(ws, CODE, as_of)
        return next(k.actual for k in p.kpis if k.key == "trainings")

    seen: list[float] = []
    rows = [["日期", "活动类型", "参与人数", "小组名称"]] + [["2024-07-01", "培训", "5", f"第{i}组"] for i in range(9)]
    r = import_file(ws, write_csv(tmp_path / "t.csv", rows), CODE, chunk_size=3,
                    progress=lambda done, total: seen.append(trainings()))
    assert r.imported == 9 and seen[0] == 0  # staged rows counted nowhere, the figure remembered
    assert trainings() == 9


def test_a_staged_batch_cleared_away_meanwhile_stops_the_import_and_leaves_no_row(roster_ws, tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Staged in chunks of 3: after the first chunk another import clears the batch away (as it
    would an abandoned one). The next chunk finds its batch gone before inserting anything: the
    import stops with the conflict message and no row is left without its batch. On SQLite the
    chunks are inserted without the row-by-row foreign-key check (the batch is checked once per
    chunk), and every connection goes back to the pool with foreign keys on."""
    from sqlalchemy import event

    from tracker.errors import TrackerError
    from tracker.records import staging

    ws = roster_ws
    monkeypatch.setenv("TRACKER_STAGE_ROWS", "1")
    returned: list[int] = []
    sqlite = ws.engine.dialect.name == "sqlite"

    def checkin(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys")
        returned.append(cur.fetchone()[0])
        cur.close()

    if sqlite:
        event.listen(ws.engine, "checkin", checkin)
    rows = [["日期", "活动类型", "参与人数", "小组名称"]] + [["2024-07-01", "培训", "5", f"第{i}组"] for i in range(9)]
    ok = import_file(ws, write_csv(tmp_path / "a.csv", rows), CODE, chunk_size=3)
    assert ok.imported == 9 and _visible_activities(ws) == 9
    b = ImportBatch.__table__

    def clear(done: int, total: int | None) -> None:
        if done == 3:
            with ws.engine.connect() as c:
                bid = c.execute(select(b.c.id).where(b.c.published_at.is_(None))).scalar_one()
            assert staging.discard(ws.engine, int(bid), "activity") == 3

    before = counts(ws)
    more = [rows[0]] + [["2024-07-02", "培训", "5", f"第{i}组"] for i in range(9)]
    with pytest.raises(TrackerError, match="另一次导入冲突"):
        import_file(ws, write_csv(tmp_path / "b.csv", more), CODE, chunk_size=3, progress=clear)
    assert counts(ws) == before
    with ws.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Activity).where(
            Activity.batch_id.not_in(select(b.c.id)))).scalar_one() == 0  # no row without its batch
    if sqlite:
        event.remove(ws.engine, "checkin", checkin)
        assert returned and set(returned) == {1}, returned
