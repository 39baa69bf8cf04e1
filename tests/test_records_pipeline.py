"""The bulk import path: the worker process that reads and checks a file, the in-memory key sets,
the statements with their constants inlined, and SQLite's deferred index rebuild."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, counts, write_csv

from tracker.db.models import Activity, ImportBatch
from tracker.errors import TrackerError
from tracker.records import import_file, importer, pipeline
from tracker.records.insert import KeySet

ACT = ["记录编号", "日期", "活动类型", "服务对象编号", "参与人数", "小组名称"]  # 小组名称 tells same-day trainings apart


@pytest.fixture
def ws(roster_ws):  # type: ignore[no-untyped-def]
    return roster_ws


def _mixed_rows(n: int) -> tuple[list[list[str]], dict[int, str], int]:
    """n data rows: group trainings (participants 1..40), home visits to P001/P002, and, at known
    rows, bad ones. Returns (rows with header, file row → expected column of the error, sum of the
    participants of the valid rows)."""
    rows = [ACT]
    bad: dict[int, str] = {}
    total = 0
    for i in range(n):
        r = i + 2  # file row
        day = f"2024-{7 + i % 6:02d}-{1 + i % 28:02d}"
        if i % 37 == 5:
            rows.append(["", "2024-13-40", "培训", "", "5", f"坏日期{i}"])
            bad[r] = "日期"
        elif i % 53 == 7:
            rows.append(["", day, "上门探访", "P999", "", f"名册外{i}"])
            bad[r] = "服务对象编号"
        elif i % 3 == 0:
            rows.append(["", day, "上门探访", f"P00{1 + i % 2}", "", f"探访{i}"])
        else:
            rows.append(["", day, "培训", "", str(1 + i % 40), f"培训{i}"])
            total += 1 + i % 40
    # a repeat of row 3 far below it (another chunk) and a record id reused with other content
    rows.append(list(rows[2]))
    bad[len(rows)] = "整行"
    rows.append(["R-1", "2024-07-02", "培训", "", "3", "编号一"])
    rows.append(["R-1", "2024-07-02", "培训", "", "4", "编号一改"])
    bad[len(rows)] = "记录编号"
    total += 3
    return rows, bad, total


def _stored(ws) -> list[tuple]:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        q = select(Activity.date, Activity.activity_type, Activity.person_id, Activity.participants,
                   Activity.group_name, Activity.source_row, Activity.dedupe_key, Activity.record_id)
        return sorted(tuple(r) for r in s.execute(q.where(Activity.project_code == CODE)))


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_worker_process_gives_what_the_inline_path_gives(ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         start: str) -> None:
    monkeypatch.setenv("TRACKER_IMPORT_START", start)
    rows, bad, total = _mixed_rows(400)
    path = write_csv(tmp_path / "活动.csv", rows)
    inline = import_file(ws, path, CODE, chunk_size=60, parallel=False, dry_run=True)
    worker = import_file(ws, path, CODE, chunk_size=60, parallel=True, dry_run=True)
    assert [str(e) for e in worker.invalid] == [str(e) for e in inline.invalid]
    assert {e.row: e.column for e in worker.invalid} == bad
    assert f"第{len(rows) - 2}行 [整行] 与第3行重复" in [str(e) for e in worker.invalid]
    assert (worker.imported, worker.unchanged, worker.rows_total) == (inline.imported, inline.unchanged, 403)

    r = import_file(ws, path, CODE, chunk_size=60, parallel=True, skip_invalid=True)
    assert r.committed and r.imported == 403 - len(bad) and r.invalid_rows == len(bad)
    stored = _stored(ws)
    assert len(stored) == r.imported
    assert sum(s[3] or 0 for s in stored) == total
    assert {s[5] for s in stored}.isdisjoint(bad)  # no bad row was written
    # the same file again, through the worker: the project now has rows, every key is looked up
    # (the repeat of row 3 now matches a stored row: unchanged, not a duplicate within this import)
    again = import_file(ws, path, CODE, chunk_size=60, parallel=True, skip_invalid=True)
    assert again.imported == 0 and again.unchanged == r.imported + 1
    assert _stored(ws) == stored


def test_record_id_reused_across_chunks_is_caught(ws, tmp_path: Path) -> None:
    rows = [ACT, ["R1", "2024-07-01", "培训", "", "10", ""], ["R2", "2024-07-02", "培训", "", "10", ""],
            ["R3", "2024-07-03", "培训", "", "10", ""], ["R1", "2024-07-04", "培训", "", "10", ""]]
    before = counts(ws)
    r = import_file(ws, write_csv(tmp_path / "a.csv", rows), CODE, chunk_size=2, parallel=True)
    assert [str(e) for e in r.invalid] == ["第5行 [记录编号] 记录编号“R1”与第2行相同，但内容不同（一个编号只能对应一条记录）"]
    assert counts(ws) == before


def test_a_broken_line_found_by_the_worker_is_reported_and_nothing_is_written(ws, tmp_path: Path) -> None:
    rows, _, _ = _mixed_rows(300)
    rows[250] = rows[250] + ["多出的一列", "又一列"]
    path = write_csv(tmp_path / "坏.csv", rows)
    before = counts(ws)
    with pytest.raises(TrackerError) as e:
        import_file(ws, path, CODE, chunk_size=50, parallel=True, skip_invalid=True)
    assert "第251行有 8 列，表头只有 6 列" in e.value.message
    assert counts(ws) == before


def test_a_worker_that_dies_is_an_error_not_a_hang(ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_IMPORT_START", "fork")  # the child runs this process's (patched) code
    monkeypatch.setattr(pipeline, "_work", lambda job, out: os._exit(3))
    rows, _, _ = _mixed_rows(200)
    before = counts(ws)
    with pytest.raises(TrackerError) as e:
        import_file(ws, write_csv(tmp_path / "a.csv", rows), CODE, chunk_size=50, parallel=True)
    assert "子进程意外退出（退出码 3）" in e.value.message
    assert counts(ws) == before


def test_quotes_in_who_and_file_name_are_stored_as_written(ws, tmp_path: Path) -> None:
    rows = [ACT, ["", "2024-07-01", "培训", "", "10", "it's"], ["", "2024-07-02", "上门探访", "P001", "", ""]]
    path = write_csv(tmp_path / "O'Neil's 活动.csv", rows)
    r = import_file(ws, path, CODE, entered_by="王'小二\"", parallel=False)
    assert r.imported == 2
    with ws.session() as s:
        got = s.execute(select(Activity.entered_by, Activity.source_file, Activity.group_name, Activity.batch_id,
                               Activity.attributes).order_by(Activity.date)).all()
        batch = s.get(ImportBatch, r.batch_id)
    assert [tuple(g) for g in got] == [("王'小二\"", "O'Neil's 活动.csv", "it's", r.batch_id, {}),
                                       ("王'小二\"", "O'Neil's 活动.csv", None, r.batch_id, {})]
    assert batch is not None and batch.rows_imported == 2


def _indexes(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        conn = s.connection()
        return dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                         "AND tbl_name = 'activity' AND sql IS NOT NULL").all())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL keeps its indexes during an import
def test_sqlite_rebuilds_the_indexes_it_dropped_for_a_large_import(ws, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert ws.engine.dialect.name == "sqlite"
    monkeypatch.setattr(importer, "DEFER_MIN_ROWS", 50)
    before = _indexes(ws)
    assert {"ix_activity_project_person", "ix_activity_project_type_date"} <= set(before)
    rows, _, _ = _mixed_rows(300)
    path = write_csv(tmp_path / "a.csv", rows)
    # a failed import (invalid rows, all-or-nothing) leaves them in place: the drop is rolled back
    failed = import_file(ws, path, CODE, chunk_size=60)
    assert not failed.committed and _indexes(ws) == before
    ok = import_file(ws, path, CODE, chunk_size=60, skip_invalid=True)
    assert ok.committed and ok.imported > 250
    assert _indexes(ws) == before
    with ws.session() as s:
        conn = s.connection()
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"  # index entries match the rows
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM activity WHERE project_code = ? AND person_id = ?",
            (CODE, "P001")))
        n = conn.exec_driver_sql("SELECT count(*) FROM activity WHERE project_code = ? AND person_id = ?",
                                 (CODE, "P001")).scalar()
    assert "ix_activity_project_person" in plan
    assert rows[-3] == rows[2] and rows[2][3] == ""  # the repeated row is a training, not a visit to P001
    assert n == sum(1 for r in rows[1:] if r[3] == "P001")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=40), max_size=12),
       st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=40))
def test_keyset_matches_a_python_set(batches: list[list[int]], probes: list[int]) -> None:
    ks, ref = KeySet(), set()
    for b in batches:
        ks.add(np.array(b, dtype=np.uint64))
        ref.update(b)
        ask = np.array(probes + b[:3], dtype=np.uint64)
        assert ks.contains(ask).tolist() == [x in ref for x in probes + b[:3]]
    assert len(ks.runs) <= max(1, len(ref)).bit_length() + 1


def test_a_second_file_into_a_project_with_rows(ws, tmp_path: Path) -> None:
    """A stored row is unchanged, a stored record id with other content amends that record, and
    everything else is new; the rows of the first file that the second lacks are reported."""
    first = [ACT] + [[f"R{i}", f"2024-07-{1 + i % 28:02d}", "培训", "", str(10 + i), ""] for i in range(40)]
    r1 = import_file(ws, write_csv(tmp_path / "1.csv", first), CODE, chunk_size=7, parallel=True)
    assert r1.imported == 40
    second = [ACT, first[5], ["R3", "2024-07-04", "培训", "", "99", "改了人数"]] + [
        ["", f"2024-08-{1 + i % 28:02d}", "上门探访", "P001", "", f"八月{i}"] for i in range(30)]
    r2 = import_file(ws, write_csv(tmp_path / "2.csv", second), CODE, chunk_size=7, parallel=True)
    assert r2.committed and r2.invalid == []
    assert (r2.imported, r2.changed, r2.unchanged, r2.invalid_rows) == (30, 1, 1, 0)
    assert r2.ledger == "1.csv" and r2.disappeared == 38 and r2.retired == 0  # recognised by its rows
    [ch] = r2.diff.changed_rows
    assert (ch.row, [(c.label, c.old, c.new) for c in ch.changes]) == (
        3, [("参与人数", "13", "99"), ("小组名称", "", "改了人数")])
    with ws.session() as s:
        n = s.execute(select(Activity.id).where(Activity.project_code == CODE)).all()
        current = s.execute(select(Activity.id).where(Activity.project_code == CODE,
                                                      Activity.retired_at.is_(None))).all()
    assert (len(n), len(current)) == (71, 70)


@pytest.mark.parametrize("per", [1, 7, 100])
def test_rows_go_in_several_to_a_statement_and_none_is_lost(ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            per: int) -> None:
    """SQLite inserts ROWS_PER_STATEMENT rows per INSERT and the remainder one by one: every row
    arrives once, with its own values."""
    from tracker.records import insert

    monkeypatch.setattr(insert, "ROWS_PER_STATEMENT", per)
    rows = [ACT] + [["", f"2024-{7 + i % 5:02d}-{1 + i % 28:02d}", "培训", "", str(1 + i), f"第{i}场"]
                    for i in range(257)]
    r = import_file(ws, write_csv(tmp_path / "a.csv", rows), CODE, parallel=False)
    assert r.imported == 257
    with ws.session() as s:
        got = s.execute(select(Activity.source_row, Activity.participants, Activity.group_name)
                        .where(Activity.project_code == CODE)).all()
    assert sorted(tuple(g) for g in got) == [(i + 2, 1 + i, f"第{i}场") for i in range(257)]
