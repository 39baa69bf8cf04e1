"""The error file is bounded: past ``TRACKER_MAX_ERROR_ROWS`` rows with errors it lists only the first
ones and then one line with the count of the others, and the summary says so in Chinese. A hostile
file of many bad rows is refused quickly, leaving nothing behind but the error file."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, counts, write_csv

from tracker.records import import_file

BAD = 100_000


def _hostile(path: Path) -> Path:
    """Every row has an impossible date: 100,000 rows with an error each."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["日期", "活动类型", "参与人数"])
        for i in range(BAD):
            w.writerow([f"2024-13-{1 + i % 28:02d}", "培训", 5])
    return path


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_a_file_of_many_bad_rows_gets_a_bounded_error_file(roster_ws, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_MAX_ERROR_ROWS", "50")
    src = _hostile(tmp_path / "坏文件.csv")
    before = counts(roster_ws)
    t0 = time.monotonic()
    r = import_file(roster_ws, src, CODE)
    took = time.monotonic() - t0
    print(f"\n{BAD:,} bad rows refused in {took:.1f} s")
    assert took < 120  # a guard against a hang, not a speed target (bench/ holds those)
    assert (r.invalid_rows, r.imported, r.committed) == (BAD, 0, False)
    assert len(r.messages) == 50 and r.unlisted_errors == BAD - 50
    assert "错误文件只列出前 50 行有错误的行，另有 99,950 行有错误未列出" in r.summary()
    assert counts(roster_ws) == before
    rows = _csv_rows(r.error_file)
    assert rows[0] == ["日期", "活动类型", "参与人数", "原行号", "错误说明"]
    assert len(rows) == 1 + 50 + 1
    assert [int(x[3]) for x in rows[1:51]] == list(range(2, 52))  # the first fifty, in file order
    assert all("日期" in x[4] for x in rows[1:51])
    assert rows[-1][:4] == ["", "", "", ""] and rows[-1][4].startswith("另有 99,950 行有错误，未列出")
    # nothing else was left in the folder (no temporary file)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("坏文件", ".坏文件"))) == [
        "坏文件.csv", "坏文件.错误说明.csv"]


def test_the_capped_error_file_as_a_workbook(roster_ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_MAX_ERROR_ROWS", "20")
    rows = [["日期", "活动类型", "参与人数"]] + [[f"2024-{6 + i // 28:02d}-{1 + i % 28:02d}" if i % 2 else "不是日期",
                                               "培训", str(i + 1)] for i in range(60)]
    r = import_file(roster_ws, write_csv(tmp_path / "a.csv", rows), CODE, error_file=tmp_path / "错.xlsx")
    assert r.invalid_rows == 30 and r.unlisted_errors == 10
    sheet = list(load_workbook(r.error_file).active.iter_rows(values_only=True))
    assert len(sheet) == 1 + 20 + 1
    assert [x[3] for x in sheet[1:21]] == list(range(2, 42, 2))  # only the rows with errors: 2, 4, … 40
    assert sheet[-1][4].startswith("另有 10 行有错误，未列出")


def test_below_the_cap_the_error_file_keeps_every_row(roster_ws, tmp_path: Path) -> None:
    rows = [["日期", "活动类型", "参与人数"], ["2024-07-01", "培训", "3"], ["不是日期", "培训", "4"],
            ["2024-07-03", "培训", "5"]]
    r = import_file(roster_ws, write_csv(tmp_path / "a.csv", rows), CODE)
    assert r.invalid_rows == 1 and r.unlisted_errors == 0
    assert "未列出" not in r.summary()
    out = _csv_rows(r.error_file)
    assert [x[3] for x in out[1:]] == ["2", "3", "4"] and out[2][4] and not out[1][4] and not out[3][4]
