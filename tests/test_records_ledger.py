"""The NGO's running ledger: one cumulative workbook imported again and again.

Each step's figures are counted by hand from the rows written here: a visit is one row; 序号, 工作人员
and 备注 never make a row new; a changed 备注 amends its record; what a person voided or amended
stays so when the unchanged ledger comes back; rows that disappear are reported, and retired only
with ``sync``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, counts

from tracker import audit
from tracker.db.models import Activity, Correction, ImportBatch
from tracker.records import amend, import_file, void
from tracker.records.listing import undo_batch

HEAD = ["序号", "日期", "活动类型", "服务对象编号", "工作人员", "备注"]


def visit(day: dt.date, person: str, staff: str = "社工甲", note: str = "") -> list[object]:
    return [day, "上门探访", person, staff, note]


def write_ledger(path: Path, rows: list[list[object]]) -> Path:
    """As staff keep it in Excel or LibreOffice: a merged title row, then the header, 序号 numbered
    from 1 (renumbered whenever a row is inserted), real date cells."""
    wb = Workbook()
    ws = wb.active
    ws.title = "服务台账"
    ws.append(["2024年上门探访服务台账"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEAD))
    ws.append(HEAD)
    for i, r in enumerate(rows, start=1):
        ws.append([i, *r])
    wb.save(path)
    return path


def current(ws) -> int:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        return s.execute(select(func.count()).select_from(Activity).where(
            Activity.project_code == CODE, Activity.retired_at.is_(None))).scalar_one()


def row_id(ws, day: dt.date, person: str) -> int:  # type: ignore[no-untyped-def]
    with ws.session() as s:
        return s.execute(select(Activity.id).where(Activity.date == day, Activity.person_id == person,
                                                   Activity.retired_at.is_(None))).scalar_one()


JULY = [visit(dt.date(2024, 7, d), "P001" if d % 2 else "P002") for d in range(1, 11)]  # 10 visits


def test_the_ledger_scenario(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    f = tmp_path / "上门探访台账.xlsx"
    lines: list[str] = []

    # 1. the first import: 10 visits
    r = import_file(ws, write_ledger(f, JULY), CODE)
    lines.append(r.summary())
    assert (r.kind, r.imported, r.unchanged, r.ledger) == ("activity", 10, 0, "上门探访台账.xlsx")
    assert current(ws) == 10

    # 2. a forgotten visit inserted as the 4th row: 序号 of every later row changes; one new record
    v2 = [*JULY[:3], visit(dt.date(2024, 7, 3), "P002", note="补录"), *JULY[3:]]
    r = import_file(ws, write_ledger(f, v2), CODE)
    lines.append(r.summary())
    assert (r.imported, r.changed, r.unchanged, r.disappeared) == (1, 0, 10, 0)
    assert current(ws) == 11

    # 3. a 备注 edited in the 2nd row (2024-07-02, P002): the same record, amended by the import
    v3 = [list(x) for x in v2]
    v3[1][4] = "家属在场"
    r = import_file(ws, write_ledger(f, v3), CODE)
    lines.append(r.summary())
    assert (r.imported, r.changed, r.unchanged) == (0, 1, 10)
    [ch] = r.diff.changed_rows
    assert ch.row == 4 and [(c.label, c.old, c.new) for c in ch.changes] == [("备注", "", "家属在场")]
    assert current(ws) == 11
    with ws.session() as s:
        [c] = s.execute(select(Correction)).scalars().all()
        assert (c.action, c.batch_id, c.new_id) == ("import-amend", r.batch_id, row_id(ws, dt.date(2024, 7, 2), "P002"))
        assert "导入批次" in c.reason

    # 4. a person amends the visit of 2024-07-05 (staff) and voids the one of 2024-07-07
    amend(ws, CODE, "activity", None, {"工作人员": "社工乙"}, reason="签到表复核", author="王五",
          row_id=row_id(ws, dt.date(2024, 7, 5), "P001"))
    void(ws, CODE, "activity", None, reason="当天未成行", author="王五", row_id=row_id(ws, dt.date(2024, 7, 7), "P001"))
    assert current(ws) == 10

    # 5. the unchanged ledger again: nothing comes back, two rows recognised as corrected earlier
    before = counts(ws)
    r = import_file(ws, write_ledger(f, v3), CODE)
    lines.append(r.summary())
    assert (r.imported, r.changed, r.unchanged, r.corrected_earlier) == (0, 0, 9, 2)
    assert r.disappeared == 0 and r.batch_id is None and counts(ws) == before
    assert current(ws) == 10

    # 6. August added below July (5 visits): 15
    aug = [visit(dt.date(2024, 8, d), "P001") for d in range(1, 6)]
    v4 = v3 + aug
    dry = import_file(ws, write_ledger(f, v4), CODE, dry_run=True)
    assert (dry.imported, dry.unchanged, dry.corrected_earlier, len(dry.diff.new_rows)) == (5, 9, 2, 5)
    assert dry.diff.new_rows[0].row == 14 and dry.diff.new_rows[0].values["日期"] == "2024-08-01"
    assert counts(ws) == before  # the dry run wrote nothing
    r = import_file(ws, write_ledger(f, v4), CODE)
    lines.append(r.summary())
    assert (r.imported, r.changed, r.unchanged, r.corrected_earlier) == (5, 0, 9, 2)
    assert current(ws) == 15

    # 7. the visit of 2024-07-09 deleted from the ledger: reported, still counted; --sync retires it
    v5 = [x for x in v4 if x[0] != dt.date(2024, 7, 9)]
    r = import_file(ws, write_ledger(f, v5), CODE)
    lines.append(r.summary())
    assert (r.imported, r.unchanged, r.disappeared, r.retired) == (0, 13, 1, 0)
    assert r.diff.disappeared_rows[0].values["日期"] == "2024-07-09" and current(ws) == 15
    r = import_file(ws, write_ledger(f, v5), CODE, sync=True)
    lines.append(r.summary())
    assert (r.imported, r.unchanged, r.disappeared, r.retired) == (0, 13, 1, 1)
    assert current(ws) == 14
    with ws.session() as s:
        b = s.get(ImportBatch, r.batch_id)
        assert (b.rows_retired, b.ledger) == (1, "上门探访台账.xlsx")
    # once retired, the same ledger again changes nothing
    r = import_file(ws, write_ledger(f, v5), CODE)
    assert (r.imported, r.unchanged, r.disappeared, r.corrected_earlier) == (0, 13, 0, 2)
    assert current(ws) == 14

    # what the user sees at each step (printed for the record: pytest -s)
    for i, line in enumerate(lines, start=1):
        print(f"{i}. {line}")


def test_a_renamed_file_is_the_same_ledger_by_content_or_by_name(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    import_file(ws, write_ledger(tmp_path / "7月.xlsx", JULY), CODE)
    # renamed, one row fewer: recognised by its rows as the same ledger
    r = import_file(ws, write_ledger(tmp_path / "7-8月.xlsx", JULY[1:]), CODE, dry_run=True)
    assert (r.ledger, r.unchanged, r.disappeared) == ("7月.xlsx", 9, 1)
    # named explicitly: a ledger of that name does not exist yet, nothing disappears
    r = import_file(ws, write_ledger(tmp_path / "7-8月.xlsx", JULY[1:]), CODE, ledger="另一本台账", dry_run=True)
    assert (r.ledger, r.unchanged, r.disappeared) == ("另一本台账", 9, 0)


def test_two_same_day_visits_need_a_time_or_a_session(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = roster_ws
    day = dt.date(2024, 7, 1)
    twice = [visit(day, "P001", note="上午"), visit(day, "P001", note="下午")]
    r = import_file(ws, write_ledger(tmp_path / "a.xlsx", twice), CODE)
    assert r.imported == 0 and not r.committed
    assert "与第3行是同一条记录" in r.invalid[0].message and "时间" in r.invalid[0].message
    wb = Workbook()
    sh = wb.active
    sh.append(["日期", "活动类型", "服务对象编号", "时间", "备注"])
    sh.append([day, "上门探访", "P001", "09:00", "上午"])
    sh.append([day, "上门探访", "P001", "15:00", "下午"])
    wb.save(tmp_path / "b.xlsx")
    r = import_file(ws, tmp_path / "b.xlsx", CODE)
    assert (r.imported, r.invalid_rows) == (2, 0) and current(ws) == 2


def test_sync_and_undo_keep_the_audit_trail_whole(roster_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The amendments and retirements of a ledger sync, and an undone batch, are in the audit trail:
    ``tracker audit verify`` finds nothing written behind its back."""
    ws = roster_ws
    f = tmp_path / "台账.xlsx"
    import_file(ws, write_ledger(f, JULY), CODE)
    assert audit.verify(ws).ok
    # one 备注 edited (an amendment) and the 2024-07-10 visit deleted (a retirement with --sync)
    v2 = [list(x) for x in JULY[:9]]
    v2[0][4] = "家属在场"
    r = import_file(ws, write_ledger(f, v2), CODE, sync=True)
    assert (r.changed, r.unchanged, r.retired) == (1, 8, 1) and current(ws) == 9
    res = audit.verify(ws)
    assert res.ok, res.summary()
    # the sync batch undone: the amended and the retired visits are current again (10), the rest untouched
    u = undo_batch(ws, r.batch_id, "改错了", "王五")
    assert (u.retired, u.restored) == (1, 2) and current(ws) == 10
    res = audit.verify(ws)
    assert res.ok, res.summary()
    # and a whole first import undone
    b = import_file(ws, write_ledger(tmp_path / "8月.xlsx", [visit(dt.date(2024, 8, d), "P001") for d in range(1, 4)]),
                    CODE).batch_id
    assert undo_batch(ws, b, "误导入", "王五").retired == 3 and current(ws) == 10
    res = audit.verify(ws)
    assert res.ok, res.summary()
    # a restored version edited behind tracker's back is still caught
    with ws.session() as s:
        restored = s.execute(select(func.count()).select_from(Activity).where(Activity.supersedes.is_not(None),
                                                                              Activity.retired_at.is_(None))).scalar_one()
    assert restored == 2
    with ws.engine.begin() as c:
        c.exec_driver_sql("UPDATE activity SET notes = '改' WHERE supersedes IS NOT NULL AND retired_at IS NULL")
    res = audit.verify(ws)
    assert not res.ok and "在 tracker 之外被修改" in res.summary()
