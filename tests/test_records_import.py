"""Importing each kind of record from CSV and XLSX with Chinese headers, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, counts, id_number, load_roster, workspace, write_csv, write_xlsx

from tracker.db.models import (
    Activity,
    Approval,
    Assessment,
    Deliverable,
    Expense,
    ImportBatch,
    Incident,
    Person,
    Staff,
    StaffCredential,
    Survey,
)
from tracker.records import import_file, import_rows, reader
from tracker.records.privacy import hash_id


@pytest.fixture
def ws(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    return workspace(db_url)


@pytest.fixture(params=["csv", "xlsx", "xlsx-streamed"])
def fmt(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """CSV, XLSX read by python-calamine, and XLSX streamed by openpyxl (the reader of large sheets)."""
    if request.param == "xlsx-streamed":
        monkeypatch.setattr(reader, "CALAMINE_MAX_XML", 0)
        return "xlsx"
    return str(request.param)


def _write(fmt: str, path: Path, rows: list[list[object]]) -> Path:
    if fmt == "csv":
        return write_csv(path.with_suffix(".csv"), rows)
    return write_xlsx(path.with_suffix(".xlsx"), rows)


def test_roster_stores_hash_and_mask_never_the_number(ws, tmp_path: Path, fmt: str) -> None:
    r = import_file(ws, _write(fmt, tmp_path / "roster", ROSTER), CODE)
    assert (r.kind, r.imported, r.unchanged, r.invalid_rows) == ("roster", 3, 0, 0)
    with ws.session() as s:
        people = {p.person_id: p for p in s.exec(select(Person))}
    p1 = people["P001"]
    assert p1.population == "elders" and people["P003"].population == "children"
    assert p1.id_hash == hash_id(ROSTER[1][2]) and p1.id_masked == ROSTER[1][2][:6] + "********" + ROSTER[1][2][-4:]
    assert p1.birth_date == dt.date(1945, 3, 12)
    assert p1.record_id == "P001" and p1.source_row == 2 and p1.entered_by == "operator"
    assert [people[k].enrolled_on for k in ("P001", "P002", "P003")] == [
        dt.date(2024, 6, 5), dt.date(2024, 6, 6), dt.date(2024, 6, 7)]
    # the clear number is nowhere in the row
    for p in people.values():
        assert all(ROSTER[i][2] not in str(v) for i in (1, 2, 3) for v in p.model_dump().values())


def test_activity_all_date_forms_labels_and_keys(ws, tmp_path: Path, fmt: str) -> None:
    load_roster(ws, tmp_path)
    rows = [
        ["记录编号", "日期", "活动类型", "服务对象编号", "参与人数", "时长（小时）", "乡镇街道", "地点", "级别", "工作人员", "备注", "联系电话"],
        ["A1", "2024-06-01", "上门探访", "P001", "", "1.5", "新安江街道", "", "", "王五", "首访", "013905710000"],
        ["A2", "2024/6/2", "home_visit", "P002", "", "", "", "", "", "", "", ""],
        ["A3", "2024.6.3", "培训", "", "30", "2", "", "村委会", "市级", "", "", ""],
        ["A4", "2024年6月4日", "training", "", "１２", "", "", "", "区县", "", "", ""],
        ["A5", "２０２４－０６－０５", "课业辅导", "P003", "", "", "", "", "", "", "", ""],
        ["A6", "45453", "上门探访", "P001", "", "", "", "", "", "", "", ""],  # Excel serial of 2024-06-10
    ]
    r = import_file(ws, _write(fmt, tmp_path / "acts", rows), CODE)
    assert (r.kind, r.imported, r.invalid_rows) == ("activity", 6, 0), [str(e) for e in r.invalid]
    with ws.session() as s:
        acts = {a.record_id: a for a in s.exec(select(Activity))}
    assert [acts[f"A{i}"].date for i in range(1, 7)] == [
        dt.date(2024, 6, 1), dt.date(2024, 6, 2), dt.date(2024, 6, 3), dt.date(2024, 6, 4), dt.date(2024, 6, 5),
        dt.date(2024, 6, 10)]
    assert [acts[f"A{i}"].activity_type for i in range(1, 7)] == [
        "home_visit", "home_visit", "training", "training", "tutoring", "home_visit"]
    assert acts["A3"].participants == 30 and acts["A4"].participants == 12 and acts["A1"].participants is None
    assert acts["A1"].hours == 1.5 and acts["A3"].level == "市级" and acts["A3"].location == "村委会"
    # unknown columns kept as attributes, phone number as text with its leading 0
    assert acts["A1"].attributes == {"联系电话": "013905710000"}
    assert acts["A2"].attributes == {}


def test_excel_date_cells_and_text_ids(ws, tmp_path: Path) -> None:
    load_roster(ws, tmp_path)
    rows = [["日期", "活动类型", "服务对象编号"],
            [dt.datetime(2024, 7, 1), "上门探访", "P001"],
            [dt.date(2024, 7, 2), "上门探访", "P002"]]
    r = import_file(ws, write_xlsx(tmp_path / "d.xlsx", rows), CODE, "activity")
    assert r.imported == 2
    with ws.session() as s:
        assert sorted(a.date for a in s.exec(select(Activity))) == [dt.date(2024, 7, 1), dt.date(2024, 7, 2)]


def test_every_other_kind(ws, tmp_path: Path, fmt: str) -> None:
    load_roster(ws, tmp_path)
    files = {
        "survey": [["记录编号", "日期", "调查对象类型", "服务对象编号", "是否满意", "评分"],
                   ["S1", "2024-07-01", "服务对象", "P001", "是", "95"],
                   ["S2", "2024-07-02", "家属", "", "否", "60"]],
        "deliverable": [["记录编号", "日期", "成果类型", "标题", "字数", "时长（分钟）", "数量", "文件"],
                        ["D1", "2024-08-01", "调研报告", "农村留守老人调研", "12000", "", "", "报告.pdf"],
                        ["D2", "2024-08-02", "宣传视频", "探访纪实", "", "5.5", "1", ""]],
        "approval": [["记录编号", "审批日期", "活动类型", "起始日期", "截止日期", "审批文号", "备注"],
                     ["AP1", "2024-05-20", "", "2024-06-01", "2025-03-31", "杭民〔2024〕1号", "总体方案"],
                     ["AP2", "2024-07-01", "培训", "2024-07-01", "2024-12-31", "杭民〔2024〕9号", ""],
                     ["AP3", "2024-07-15", "宣传视频", "", "", "", "成果发布前审核"]],
        "incident": [["记录编号", "日期", "事件类型", "事件描述"],
                     ["I1", "2024-09-01", "有责投诉", "服务迟到"]],
        "staff": [["工作人员编号", "姓名", "岗位", "是否接触儿童", "入职日期"],
                  ["W1", "王五", "社工", "是", "2024-05-01"],
                  ["W2", "赵六", "志愿者", "否", "2024-06-01"]],
        "credential": [["工作人员编号", "资质类型", "取得日期", "有效期至", "证书编号"],
                       ["W1", "无犯罪记录证明", "2024-05-10", "2025-05-10", "NCR-001"]],
        "assessment": [["记录编号", "日期", "评估工具", "服务对象编号", "阶段", "评分", "是否合格"],
                       ["E1", "2024-07-01", "前后测", "P001", "前测", "55", "否"],
                       ["E2", "2024-10-01", "前后测", "P001", "后测", "80", "是"]],
        "expense": [["记录编号", "日期", "科目", "金额（元）", "备注"],
                    ["X1", "2024-07-31", "人员经费", "12,000.50", "7月补贴"],
                    ["X2", "2024-08-31", "活动经费", "800", ""]],
    }
    for kind, rows in files.items():
        r = import_file(ws, _write(fmt, tmp_path / kind, rows), CODE)
        assert (r.kind, r.imported, r.invalid_rows) == (kind, len(rows) - 1, 0), (kind, [str(e) for e in r.invalid])
    with ws.session() as s:
        sv = {x.record_id: x for x in s.exec(select(Survey))}
        assert (sv["S1"].respondent_type, sv["S1"].satisfied, sv["S1"].score) == ("client", True, 95)
        assert (sv["S2"].respondent_type, sv["S2"].satisfied) == ("family", False)
        dl = {x.record_id: x for x in s.exec(select(Deliverable))}
        assert (dl["D1"].deliverable_type, dl["D1"].words, dl["D2"].minutes, dl["D2"].copies) == ("report", 12000, 5.5, 1)
        ap = {x.record_id: x for x in s.exec(select(Approval))}
        assert ap["AP1"].activity_type is None and ap["AP2"].activity_type == "training"
        assert ap["AP3"].activity_type == "video"  # an approval may cover a deliverable type
        assert ap["AP2"].valid_to == dt.date(2024, 12, 31) and ap["AP1"].reference == "杭民〔2024〕1号"
        assert s.exec(select(Incident)).one().incident_type == "liable_complaint"
        st = {x.staff_id: x for x in s.exec(select(Staff))}
        assert st["W1"].works_with_children is True and st["W2"].works_with_children is False
        cr = s.exec(select(StaffCredential)).one()
        assert (cr.staff_id, cr.credential, cr.expires_on) == ("W1", "no_criminal_record", dt.date(2025, 5, 10))
        asm = {x.record_id: x for x in s.exec(select(Assessment))}
        assert (asm["E1"].phase, asm["E1"].passed, asm["E2"].phase, asm["E2"].score) == ("pre", False, "post", 80)
        ex = {x.record_id: x for x in s.exec(select(Expense))}
        assert ex["X1"].amount == Decimal("12000.50") and ex["X2"].amount == Decimal("800.00")
        batches = s.exec(select(ImportBatch)).all()
        assert len(batches) == 1 + len(files) and all(b.rows_imported > 0 for b in batches)


def test_reimport_same_file_and_rows_changes_nothing(ws, tmp_path: Path) -> None:
    load_roster(ws, tmp_path)
    rows = [["日期", "活动类型", "服务对象编号", "参与人数"],
            ["2024-07-01", "上门探访", "P001", ""],
            ["2024-07-01", "培训", "", "20"]]
    f = write_csv(tmp_path / "a.csv", rows)
    assert import_file(ws, f, CODE).imported == 2
    before = counts(ws)
    again = import_file(ws, f, CODE)
    assert (again.imported, again.unchanged, again.batch_id) == (0, 2, None)
    assert counts(ws) == before
    # the same rows in another spelling (label vs key, other date form) are the same records
    r = import_rows(ws, CODE, "activity", [{"date": "2024/7/1", "activity": "home_visit", "person_id": "P001"}],
                    source_name="simulator")
    assert (r.imported, r.unchanged) == (0, 1) and counts(ws) == before
    # a grown copy of the file adds only the new row
    f2 = write_csv(tmp_path / "a2.csv", [*rows, ["2024-07-02", "上门探访", "P002", ""]])
    r2 = import_file(ws, f2, CODE)
    assert (r2.imported, r2.unchanged) == (1, 2)
    assert counts(ws)["activity"] == 3


def test_record_id_makes_rows_idempotent(ws, tmp_path: Path) -> None:
    load_roster(ws, tmp_path)
    one = [{"记录编号": "R1", "日期": "2024-07-01", "活动类型": "培训", "参与人数": 10}]
    assert import_rows(ws, CODE, "activity", one, source_name="x").imported == 1
    assert import_rows(ws, CODE, "activity", one, source_name="y").unchanged == 1
    assert counts(ws)["activity"] == 1


def test_gb18030_file_with_rare_character(ws, tmp_path: Path) -> None:
    rows = [ROSTER[0], ["P009", "刘䶮", id_number(birth="19400202", seq="051"), "留守独居等困难老人", "寿昌镇", "", ""]]
    f = write_csv(tmp_path / "gb.csv", rows, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        f.read_bytes().decode("gbk")  # the trap: gbk cannot read it
    r = import_file(ws, f, CODE)
    assert r.imported == 1
    with ws.session() as s:
        assert s.exec(select(Person.name)).one() == "刘䶮"


def test_utf8_bom_and_plain_gbk(ws, tmp_path: Path) -> None:
    rows = [ROSTER[0], ROSTER[1]]
    write_csv(tmp_path / "bom.csv", rows, encoding="utf-8-sig")
    assert import_file(ws, tmp_path / "bom.csv", CODE).imported == 1
    write_csv(tmp_path / "gbk.csv", [ROSTER[0], ROSTER[2]], encoding="gbk")
    assert import_file(ws, tmp_path / "gbk.csv", CODE).imported == 1
    with ws.session() as s:
        assert sorted(s.exec(select(Person.name))) == sorted(["张三", "欧阳娜娜"])


def test_title_row_above_header_and_extra_project_column(ws, tmp_path: Path) -> None:
    load_roster(ws, tmp_path)
    rows = [["2024年7月探访登记表"], ["项目编号", "日期", "活动类型", "服务对象编号"],
            [CODE, "2024-07-01", "上门探访", "P001"]]
    r = import_file(ws, write_xlsx(tmp_path / "t.xlsx", rows), CODE)
    assert r.imported == 1 and r.invalid == []
    with ws.session() as s:
        a = s.exec(select(Activity)).one()
    assert a.source_row == 3 and a.attributes == {}


def test_dry_run_writes_nothing(ws, tmp_path: Path) -> None:
    load_roster(ws, tmp_path)
    before = counts(ws)
    f = write_csv(tmp_path / "a.csv", [["日期", "活动类型", "服务对象编号"], ["2024-07-01", "上门探访", "P001"]])
    r = import_file(ws, f, CODE, dry_run=True)
    assert (r.imported, r.committed) == (1, False)
    assert counts(ws) == before


def test_deliverables_of_one_person_and_staff_experience(ws, tmp_path: Path) -> None:
    """一户一档: a deliverable may name the 服务对象 it is for (on the roster; two files of one day
    and title for two people are two records); staff carry 从业起始日期 and 工作年限."""
    load_roster(ws, tmp_path)
    rows = [["日期", "成果类型", "标题", "服务对象编号"],
            ["2024-08-01", "调研报告", "一户一档", "P001"],
            ["2024-08-01", "调研报告", "一户一档", "P002"],
            ["2024-08-01", "调研报告", "一户一档", "P404"]]
    r = import_file(ws, write_csv(tmp_path / "files.csv", rows), CODE, "deliverable")
    assert r.imported == 0 and [(e.row, e.column, e.message) for e in r.invalid] == [
        (4, "服务对象编号", f"服务对象编号“P404”不在项目 {CODE} 的服务对象名册中（请先导入名册）")]
    r = import_file(ws, write_csv(tmp_path / "files.csv", rows[:3]), CODE, "deliverable")
    assert (r.imported, r.invalid_rows) == (2, 0)
    staff = [["工作人员编号", "姓名", "岗位", "入职日期", "从业起始日期", "工作年限"],
             ["W1", "王五", "助教教师", "2024-06-01", "2020-09-01", ""],
             ["W2", "赵六", "督导", "", "", "6.5"]]
    assert import_file(ws, write_csv(tmp_path / "staff.csv", staff), CODE).imported == 2
    with ws.session() as s:
        assert sorted(d.person_id for d in s.exec(select(Deliverable))) == ["P001", "P002"]
        st = {x.staff_id: x for x in s.exec(select(Staff))}
        assert (st["W1"].practice_since, st["W1"].experience_years) == (dt.date(2020, 9, 1), None)
        assert (st["W2"].practice_since, st["W2"].experience_years) == (None, 6.5)
