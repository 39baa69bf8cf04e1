"""See and undo: the records behind a figure with their source row, a record's history, the import
batches, undoing a batch in one transaction; mistyped fields and --set columns are errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, SPECS, counts

from tracker.errors import TrackerError
from tracker.records import amend, import_file
from tracker.records.listing import list_batches, list_records, record_history, undo_batch

HEAD = ["序号", "日期", "活动类型", "服务对象编号", "备注"]


def ledger(path: Path, rows: list[tuple[dt.date, str, str]]) -> Path:
    wb = Workbook()
    sh = wb.active
    sh.append(HEAD)
    for i, (day, person, note) in enumerate(rows, start=1):
        sh.append([i, day, "上门探访", person, note])
    wb.save(path)
    return path


JULY = [(dt.date(2024, 7, d), "P001" if d % 2 else "P002", "") for d in range(1, 11)]
AUG = [(dt.date(2024, 8, d), "P001", "") for d in range(1, 31)]  # 30 rows imported by mistake


def test_records_batches_history_and_undo(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    b1 = import_file(ws, ledger(tmp_path / "7月台账.xlsx", JULY), CODE).batch_id
    july = list_records(ws, CODE, "activity", month="2024-07")
    assert len(july.rows) == 10
    assert [(r["source_file"], r["source_row"], r["batch_id"]) for r in july.rows[:2]] == [
        ("7月台账.xlsx", 2, b1), ("7月台账.xlsx", 3, b1)]
    assert len(list_records(ws, CODE, "activity", person="P001").rows) == 5
    # CSV for Chinese Excel: a BOM, Chinese headers (English keys on request); XLSX with date cells
    text = july.csv_text()
    assert text.startswith("\ufeff库内编号,记录编号,日期,活动类型,服务对象编号")
    first = next(csv.reader(io.StringIO(july.csv_text(keys=True).lstrip("\ufeff"))))
    assert first[:5] == ["id", "record_id", "date", "activity_type", "person_id"]
    out = july.save(tmp_path / "out" / "七月.xlsx") if (tmp_path / "out").mkdir() is None else None
    assert out is not None and oct(out.stat().st_mode & 0o777) == "0o600"
    cells = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert cells[1][2] == dt.datetime(2024, 7, 1) and cells[1][3] == "上门探访" and len(cells) == 11

    # 30 August visits imported by mistake: one undo, one transaction
    b2 = import_file(ws, ledger(tmp_path / "8月.xlsx", AUG), CODE).batch_id
    assert len(list_records(ws, CODE, "activity").rows) == 40
    r = undo_batch(ws, b2, "误导入了八月的草稿", "王五")
    assert (r.retired, r.restored) == (30, 0)
    assert len(list_records(ws, CODE, "activity").rows) == 10
    states = {row["id"]: (row["kind"], row["state"], row["rows_imported"]) for row in list_batches(ws, CODE).rows}
    assert states == {b1 - 1: ("服务对象名册", "有效", 3), b1: ("活动记录", "有效", 10), b2: ("活动记录", "已撤销", 30)}
    with pytest.raises(TrackerError, match="已于"):
        undo_batch(ws, b2, "再来一次", "王五")

    # a 备注 changed by a re-import, then that batch undone: the earlier version is current again
    changed = [(JULY[0][0], JULY[0][1], "家属在场"), *JULY[1:]]
    b3 = import_file(ws, ledger(tmp_path / "7月台账.xlsx", changed), CODE).batch_id
    rec = next(x for x in list_records(ws, CODE, "activity").rows if x["notes"] == "家属在场")
    hist = record_history(ws, CODE, "activity", rec["id"])
    assert [(v.how, v.current, v.values.get("备注", "")) for v in hist] == [
        ("导入", False, ""), ("再次导入时更改", True, "家属在场")]
    assert "导入批次" in (hist[1].reason or "")
    r = undo_batch(ws, b3, "改错了", "王五")
    assert (r.retired, r.restored) == (1, 1)
    now = list_records(ws, CODE, "activity").rows
    assert len(now) == 10 and all(x["notes"] == "" for x in now)


def test_mistyped_set_column_and_log_option_are_errors(roster_ws, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    import_file(ws, ledger(tmp_path / "a.xlsx", JULY[:1]), CODE)
    rid = list_records(ws, CODE, "activity").rows[0]["id"]
    before = counts(ws)
    with pytest.raises(TrackerError, match="没有列“服务对像编号”（是否想写“服务对象编号”？）"):
        amend(ws, CODE, "activity", None, {"服务对像编号": "P002"}, reason="改对象", author="王五", row_id=rid)
    # a right column beside the mistyped one changes nothing either: the whole amendment is refused
    with pytest.raises(TrackerError, match="没有列“服务对像编号”"):
        amend(ws, CODE, "activity", None, {"备注": "改了", "服务对像编号": "P002"}, reason="改对象", author="王五",
              row_id=rid)
    assert counts(ws) == before and len(record_history(ws, CODE, "activity", rid)) == 1
    env = {**os.environ, "TRACKER_DB_URL": db_url, "TRACKER_SPECS": str(SPECS)}
    tracker = Path(sys.executable).parent / "tracker"
    p = subprocess.run([str(tracker), "amend", "--project", CODE, "--kind", "activity", "--row-id", str(rid),
                        "--set", "服务对像编号=P002", "--reason", "改对象"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1 and "没有列“服务对像编号”（是否想写“服务对象编号”？）" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
    assert counts(ws) == before and [r["person_id"] for r in list_records(ws, CODE, "activity").rows] == ["P001"]
    p = subprocess.run([str(tracker), "log", "activity", "--project", CODE, "--date", "2024-07-02",
                        "--activity", "培训", "--participants", "5", "--stafff", "李四"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "没有选项 --stafff（是否想写 --staff？）" in p.stderr
    assert len(list_records(ws, CODE, "activity").rows) == 1  # nothing logged
