"""``tracker.records.validate.prepare``: what it returns for varied cells of every record kind.

Three kinds of evidence:
- golden: ``tests/fixtures/records/prepare_golden/golden.json`` holds what ``prepare`` returned for a
  fixed set of generated chunks before it was rewritten for speed (regenerated once since, when
  impossible years and infinite numbers became errors, and when the roster and activity gained
  their empty 结案日期 and 需求登记日期 columns, and when a date without a year (6月1日) took the
  period's year, and when deliverables gained 服务对象编号 (part of their identity) and staff
  从业起始日期 and 工作年限; each changed row was reviewed); it must
  return exactly that today (values with their Python types, dedupe keys, record ids, attributes,
  errors in their order);
- worked examples: small chunks whose expected values and Chinese messages are written out here;
- invariants: a chunk gives the same per-row values and keys as its rows one at a time, text-dtype
  and object-dtype frames agree, and the dedupe key is the documented fingerprint of the values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records" / "prepare_golden"))
import golden_cases as G

from tracker.records.columns import KINDS
from tracker.records.privacy import hash_id, mask_id
from tracker.records.validate import WHOLE_ROW, Context, Prepared, prepare

CASES = {c.name: c for c in G.cases()}
GOLDEN: dict[str, Any] = json.loads(G.GOLDEN.read_text("utf-8"))
PERIOD = "（2024-06-01 至 2025-03-31）"
DATE_HINT = "（可写作 2024-06-01、2024/6/1、2024.6.1 或 2024年6月1日）"


@pytest.fixture(autouse=True)
def _id_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_ID_KEY", G.ID_KEY)


def _ctx(kind: str, *, variant: str = "B901", roster: dict[str, str | None] | None = None,
         today: dt.date = G.TODAY, attr_cols: list[str] | None = None,
         id_attr_cols: set[str] | None = None) -> Context:
    return Context("2099B901", G.spec(variant), KINDS[kind], today=today, roster=roster,
                   attr_cols=attr_cols or [], id_attr_cols=id_attr_cols or set())


def _prep(kind: str, cells: dict[str, list[str]], **kw: Any) -> Prepared:
    chunk = pd.DataFrame(cells, dtype=str)
    return prepare(chunk, np.arange(2, 2 + len(chunk)), _ctx(kind, **kw))


def _fingerprint(p: Prepared, i: int) -> str:
    """The content key as the database holds it: sha256 of the normalised values (sorted column names,
    '' for empty, ISO dates, str() otherwise, then the attributes as sorted JSON), 32 hex digits."""
    parts = []
    for col in sorted(p.values):
        v = p.values[col][i]
        parts.append("" if v is None else v.isoformat() if isinstance(v, dt.date) else str(v))
    if p.attributes is not None:
        a = p.attributes[i]
        parts.append(json.dumps(a, ensure_ascii=False, sort_keys=True) if a else "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# ------------------------------------------------------------------ golden


def test_golden_covers_every_kind_and_records_the_known_failures() -> None:
    assert {c.kind for c in CASES.values()} == set(KINDS)
    assert set(GOLDEN) == set(CASES)
    assert not any("exception" in g for g in GOLDEN.values())
    assert sum(len(g["errors"]) for g in GOLDEN.values() if "errors" in g) > 2000
    assert sum(sum(g["valid"]) for g in GOLDEN.values() if "valid" in g) > 150


@pytest.mark.parametrize("name", sorted(CASES))
def test_prepare_reproduces_the_golden_output(name: str) -> None:
    got = G.run(CASES[name])
    want = GOLDEN[name]
    if "exception" in want:
        assert got == want
        return
    assert got["n"] == want["n"]
    assert [k for k, _ in got["values"]] == [k for k, _ in want["values"]]  # same columns, same order
    for (k, vals), (_, wvals) in zip(got["values"], want["values"], strict=True):
        assert vals == wvals, k
    assert got["dedupe"] == want["dedupe"]
    assert got["record_id"] == want["record_id"]
    assert got["record_id_is_values"] == want["record_id_is_values"]
    assert got["attributes"] == want["attributes"]
    assert got["errors"] == want["errors"]  # positions, labels, messages, and the order of all three
    assert got["rid_label"] == want["rid_label"] and got["valid"] == want["valid"]


def test_impossible_years_and_infinite_numbers_are_rejected_not_stored() -> None:
    """'0000-01-01' once came out as numpy's day number (an int) and 'inf' in a count crashed the
    import; now both are bad cells with a reason, and the row is not valid."""
    zero = GOLDEN["roster-year-zero"]
    assert dict(zero["values"])["enrolled_on"] == ["None", "datetime.date(2024, 6, 1)"]
    assert zero["errors"] == [[0, [["建档日期", "“0000-01-01”不是合理的日期：年份应在 1900 至 2199 之间"]]]]
    assert zero["valid"] == [False, True]
    inf = GOLDEN["deliverable-count-inf"]
    assert inf["errors"] == [[0, [["字数", "“inf”不是有限的数字，请只填写数字"]]]] and inf["valid"] == [False]
    p = prepare(pd.DataFrame({"record_id": ["R1", "R2", "R3"], "date": ["2024-07-01", "1899-12-31", "2200-01-01"],
                              "deliverable": ["调研报告"] * 3, "words": ["1e999", "10", "10"]}, dtype=str),
                np.array([2, 3, 4]), G.context(G.cases()[-1]))
    assert p.errors == {0: [("字数", "“1e999”不是有限的数字，请只填写数字")],
                        1: [("日期", "“1899-12-31”不是合理的日期：年份应在 1900 至 2199 之间")],
                        2: [("日期", "“2200-01-01”不是合理的日期：年份应在 1900 至 2199 之间")]}


# ------------------------------------------------------------------ worked examples


def test_dates_in_every_accepted_form_and_every_rejection() -> None:
    cells = ["2024-06-01", "2024/6/2", "2024年6月3日", "２０２４-０６-０４", "45444", "2024-13-01", "明天",
             "2025-02-01", "2024-05-31", "", " 2024-06-05 ", "20240606", "2024-06-07 10:30"]
    n = len(cells)
    p = _prep("activity", {"record_id": [f"R{i}" for i in range(n)], "date": cells, "activity": ["培训"] * n,
                           "participants": ["10"] * n})
    d = dt.date
    assert p.values["date"] == [d(2024, 6, 1), d(2024, 6, 2), d(2024, 6, 3), d(2024, 6, 4),
                                d(1899, 12, 30) + dt.timedelta(days=45444), None, None, d(2025, 2, 1),
                                d(2024, 5, 31), None, d(2024, 6, 5), d(2024, 6, 6), d(2024, 6, 7)]
    assert all(type(v) is dt.date for v in p.values["date"] if v is not None)
    assert p.errors == {
        5: [("日期", "“2024-13-01”不是真实存在的日期")],
        6: [("日期", f"“明天”不是日期{DATE_HINT}")],
        7: [("日期", "日期 2025-02-01 晚于今天（2025-01-15），不能登记未来的记录")],
        8: [("日期", f"日期 2024-05-31 不在项目周期{PERIOD}内")],
        9: [("日期", "必填，不能为空")],
    }
    # rows with a problem are listed in the order the checks found them: parsing, future, period, empty
    assert list(p.errors) == [5, 6, 7, 8, 9]


def test_activity_types_roster_and_counts() -> None:
    rows = [  # activity, person_id, participants, hours
        ("上门探访", "P001", "", ""),
        ("上门探访", "P003", "", ""),
        ("上门探访", "P999", "", ""),
        ("上门探访", "", "", ""),
        ("培训", "", "", "2"),
        ("培训", "", "12.5", ""),
        ("培训", "", "-3", ""),
        ("培训", "", "abc", ""),
        ("跳舞", "", "5", ""),
        ("培训", "", "１,２００", ""),
        ("home_visit", "Ｐ００１", "", ""),
        ("上门探访", "1.5E+3", "", ""),
        ("培训", "", "12.0", "1.5"),
        ("培训", "", "7", "-1"),
        ("", "", "", ""),
    ]
    cols = ["activity", "person_id", "participants", "hours"]
    cells = {c: [r[k] for r in rows] for k, c in enumerate(cols)}
    p = _prep("activity", {"date": ["2024-07-01"] * len(rows), **cells},
              roster={"P001": "elders", "P003": "children"})
    assert p.values["activity_type"] == ["home_visit"] * 4 + ["training"] * 4 + [None, "training", "home_visit",
                                                                                  "home_visit", "training",
                                                                                  "training", None]
    assert p.values["person_id"] == ["P001", "P003", "P999", None, None, None, None, None, None, None, "P001",
                                     None, None, None, None]
    assert p.values["participants"] == [None] * 8 + [5, 1200, None, None, 12, 7, None]
    assert p.values["hours"] == [None] * 4 + [2.0] + [None] * 7 + [1.5, None, None]
    assert type(p.values["participants"][9]) is int and type(p.values["hours"][4]) is float
    sci = "服务对象编号“1.5E+3”被 Excel 转成了科学计数法，位数已丢失：请把该列设为“文本”格式后重新填写"
    assert p.errors == {
        1: [("服务对象编号", "服务对象“P003”不属于“上门探访”的服务人群“留守独居等困难老人”")],
        2: [("服务对象编号", "服务对象编号“P999”不在项目 2099B901 的服务对象名册中（请先导入名册）")],
        3: [("服务对象编号", "“上门探访”服务单个对象，必须填写服务对象编号")],
        4: [("参与人数", "“培训”是集体活动，必须填写参与人数")],
        5: [("参与人数", "必须是整数（填写的是 12.5）")],
        6: [("参与人数", "不能为负数（填写的是 -3）")],
        7: [("参与人数", "“abc”不是数字，请只填写数字")],
        8: [("活动类型", "活动类型“跳舞”不在项目 2099B901 的规格中，可选：上门探访、课业辅导、培训")],
        10: [(WHOLE_ROW, "与第2行重复")],  # row 0 again, written with the key and full-width letters
        11: [("服务对象编号", sci)],
        # a second training on 2024-07-01 with no group, place or time: the same event as row 9
        12: [(WHOLE_ROW, "与第11行是同一条记录（日期、活动类型、服务对象编号、小组名称相同）；"
                         "同一天对同一对象的两次服务，请填写“时间”或“场次”列，或填写记录编号")],
        13: [("时长（小时）", "不能为负数（填写的是 -1）")],
        14: [("活动类型", "必填，不能为空")],
    }
    assert list(p.errors) == [8, 11, 7, 6, 5, 13, 14, 1, 2, 3, 4, 10, 12]  # column by column, then the rules


def test_record_ids_codes_and_identity_clashes() -> None:
    p = _prep("activity", {"record_id": ["1001.0", "R1", "R1", "R1", "1.23E+17", " R2 "],
                           "date": ["2024-07-01", "2024-07-01", "2024-07-02", "2024-07-01", "2024-07-01",
                                    "2024-07-03"],
                           "activity": ["培训"] * 6, "participants": ["3"] * 6})
    assert p.values["record_id"] == ["1001", "R1", "R1", "R1", None, "R2"]
    assert p.record_id is p.values["record_id"]
    assert p.errors == {
        4: [("记录编号", "记录编号“1.23E+17”被 Excel 转成了科学计数法，位数已丢失：请把该列设为“文本”格式后重新填写")],
        2: [("记录编号", "记录编号“R1”与第3行相同，但内容不同（一个编号只能对应一条记录）")],
        3: [(WHOLE_ROW, "与第3行重复")],
    }
    assert list(p.errors) == [4, 2, 3]
    assert p.dedupe[1] == p.dedupe[2] == p.dedupe[3]  # one record id, one record
    assert p.content[1] == p.content[3] != p.content[2]


def test_roster_id_numbers_birth_dates_and_populations() -> None:
    good, child = G.GOOD_IDS[0], G.GOOD_IDS[2]
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    p = _prep("roster", {
        "person_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
        "id_number": [good, " " + child.lower() + " ", bad, "", "330106500101002", good],
        "population": ["elders", "", "", "", "困境儿童", ""],
        "category": ["", "困境儿童", "", "", "", "其他"],
        "birth_date": ["", "", "", "1950-01-01", "", "1944-01-01"],
    })
    assert p.values["id_hash"] == [hash_id(good), hash_id(child), None, None, None, hash_id(good)]
    assert p.values["id_masked"] == [mask_id(good), mask_id(child), None, None, None, mask_id(good)]
    assert p.values["birth_date"] == [dt.date(1945, 3, 12), dt.date(2015, 8, 8), None, dt.date(1950, 1, 1), None,
                                      dt.date(1944, 1, 1)]  # the birth-date column wins over the ID number
    assert p.values["population"] == ["elders", "children", None, None, "children", None]
    assert p.record_id == ["P1", "P2", "P3", "P4", "P5", "P6"] and p.rid_label == "服务对象编号"
    many = "项目有多个服务人群，请填写人群：留守独居等困难老人、困境儿童"
    assert p.errors == {
        2: [("身份证号", "身份证号校验位错误，请核对号码"), ("人群", many)],
        4: [("身份证号", "15位旧身份证号已停用，请更新为18位号码")],
        3: [("人群", many)],
        5: [("人群", many)],
    }
    assert list(p.errors) == [2, 4, 3, 5]
    assert "id_number" not in p.values and good not in json.dumps([repr(v) for v in p.values.values()])


def test_one_vocabulary_item_fills_empty_cells() -> None:
    s = _prep("survey", {"date": ["2024-07-01", "2024-07-02"], "respondent_type": ["", "学生"],
                         "satisfied": ["是", "maybe"], "score": ["4.5", ""]}, variant="single")
    assert s.values["respondent_type"] == ["client", None]
    assert s.values["satisfied"] == [True, None] and s.values["score"] == [4.5, None]
    assert s.errors == {1: [("调查对象类型", "调查对象类型“学生”不在项目 2099B901 的规格中，可选：服务对象"),
                            ("是否满意", "是否满意“maybe”无效，可选：非常满意、满意、基本满意、不满意、非常不满意，或 是、否")]}
    r = _prep("roster", {"person_id": ["P1", "P2"], "population": ["", ""], "category": ["", "x"]},
              variant="single")
    assert r.values["population"] == ["elders", "elders"] and r.errors == {}


def test_approval_dates_money_levels_and_phases() -> None:
    a = _prep("approval", {"record_id": ["A1", "A2", "A3"], "date": ["2025-04-01", "2024-07-01", "2024-07-01"],
                           "valid_from": ["2024-07-01", "2024-08-01", "2024-08-01"],
                           "valid_to": ["2024-12-31", "2024-07-31", "2026-01-01"]},
              today=dt.date(2025, 6, 1))
    assert a.errors == {0: [("审批日期", "审批日期 2025-04-01 晚于项目结束日期 2025-03-31")],
                        1: [("截止日期", "截止日期早于起始日期")]}
    e = _prep("expense", {"date": ["2024-07-01"] * 7, "category": ["交通"] * 7,
                          "amount": ["¥1,000", "100元", "12.345", "-5", "abc", "", "０.５"]})
    assert e.values["amount"] == [Decimal("1000.00"), Decimal("100.00"), None, None, None, None, Decimal("0.50")]
    assert e.errors == {2: [("金额（元）", "金额最多保留两位小数（精确到分）")], 3: [("金额（元）", "金额不能为负数")],
                        4: [("金额（元）", "“abc”不是金额，请只填写数字（元）")], 5: [("金额（元）", "必填，不能为空")]}
    d = _prep("deliverable", {"date": ["2024-07-01"] * 3, "deliverable": ["调研报告", "video", "report"],
                              "level": ["全国", "区级", "乡级"], "words": ["1000", "", "1,000"]})
    assert d.values["level"] == ["国家级", "区县", None] and d.values["words"] == [1000, None, 1000]
    assert d.errors == {2: [("级别", "级别“乡级”无效，可选：区县、市级、省级、国家级（也可写 区级、县级、区县级）")]}
    s = _prep("assessment", {"date": ["2024-07-01"] * 2, "instrument": ["前后测", "prepost"],
                             "phase": ["后测", "Pre"], "passed": ["合格", "×"]})
    assert s.values["phase"] == ["post", "pre"] and s.values["passed"] == [True, False]
    assert s.errors == {}


def test_project_column_attributes_and_staff_identity() -> None:
    chunk = pd.DataFrame({"staff_id": ["S1", "S2", "S3"], "name": [" 王五 ", "", "赵六"],
                          "__project__": ["2099b901", "2099B999", ""],
                          "电话": [" 138 ", "", "139"], "证件号码": [G.GOOD_IDS[0], "", ""]}, dtype=str)
    ctx = _ctx("staff", attr_cols=["电话", "证件号码"], id_attr_cols={"证件号码"})
    p = prepare(chunk, np.array([5, 6, 7]), ctx)
    assert p.values["name"] == ["王五", None, "赵六"]
    assert p.record_id == ["S1", "S2", "S3"] and p.rid_label == "工作人员编号"
    assert p.attributes == [{"电话": "138", "证件号码": mask_id(G.GOOD_IDS[0])}, {}, {"电话": "139"}]
    assert p.errors == {1: [("项目编号", "该行属于项目 2099B999，与本次导入的项目 2099B901 不一致")]}
    assert p.content == [_fingerprint(p, i) for i in range(3)]
    # the identity is the staff number alone: the extra columns (电话 …) are content
    assert p.dedupe == [hashlib.sha256(f"\x1e#S{i}".encode()).hexdigest()[:32] for i in (1, 2, 3)]


def test_many_rows_of_few_distinct_cells() -> None:
    """Each problem reaches every row that has it, and only those (the checks work per distinct cell)."""
    pattern = [("2024-07-01", "培训", "10"), ("2024-13-01", "培训", "10"), ("2024-07-02", "跳舞", "3"),
               ("2024-07-03", "培训", "x"), ("2024-07-01", "培训", "10")]
    n = 3000
    rows = [pattern[i % 5] for i in range(n)]
    p = _prep("activity", {"record_id": [f"R{i}" for i in range(n)], "date": [r[0] for r in rows],
                           "activity": [r[1] for r in rows], "participants": [r[2] for r in rows]})
    for i in range(n):
        k = i % 5
        want = {1: [("日期", "“2024-13-01”不是真实存在的日期")],
                2: [("活动类型", "活动类型“跳舞”不在项目 2099B901 的规格中，可选：上门探访、课业辅导、培训")],
                3: [("参与人数", "“x”不是数字，请只填写数字")]}.get(k)
        assert p.errors.get(i) == want, i
    assert list(p.errors) == [i for i in range(n) if i % 5 == 1] + [i for i in range(n) if i % 5 == 2] + [
        i for i in range(n) if i % 5 == 3]
    assert p.values["participants"][::5] == [10] * 600 and p.values["date"][4::5] == [dt.date(2024, 7, 1)] * 600
    assert len(set(p.dedupe)) == n  # record ids differ
    assert p.content == [_fingerprint(p, i) for i in range(n)]
    assert p.dedupe == [hashlib.sha256(f"\x1e#R{i}".encode()).hexdigest()[:32] for i in range(n)]  # the record id


def test_fingerprint_of_rows_with_many_distinct_cells() -> None:
    """Columns with thousands of distinct cells next to columns with few: the key is still the
    fingerprint of each row's own values, and equal rows (only those) share it."""
    n = 12_000
    p = _prep("activity", {"date": [f"2024-{7 + i % 5:02d}-{1 + i % 28:02d}" for i in range(n)],
                           "activity": ["培训"] * n, "participants": [str(i % 97) for i in range(n)],
                           "location": [f"地点{i % 5000}" for i in range(n)], "notes": [f"第{i % 9000}场" for i in range(n)],
                           "staff": [f"社工{i % 30}" for i in range(n)], "town": [" 梅城镇 "] * n})
    assert p.content == [_fingerprint(p, i) for i in range(n)]
    assert p.values["notes"][9001] == "第1场" and p.values["town"][5] == "梅城镇"
    # row i and row j are equal exactly when i ≡ j modulo lcm(140, 97, 5000, 9000, 30) > n: none repeats;
    # the identity (date, type, location) repeats modulo lcm(140, 5000) = 35000 > n: none either
    assert len(set(p.content)) == n and len(set(p.dedupe)) == n and p.errors == {}


# ------------------------------------------------------------------ invariants


def _strip_chunk_level(errors: dict[int, list[tuple[str, str]]], i: int, rid_label: str) -> list[tuple[str, str]]:
    """A row's errors without the ones that compare it with other rows of the chunk."""
    return [(c, m) for c, m in errors.get(i, []) if c != WHOLE_ROW and not (c == rid_label and "与第" in m)]


@pytest.mark.parametrize("name", [n for n in sorted(CASES) if n.endswith(("-main", "-wild-object"))])
def test_a_chunk_equals_its_rows_one_at_a_time(name: str) -> None:
    case = CASES[name]
    whole = prepare(case.chunk.copy(), case.rows, G.context(case))
    for i in range(0, len(case.chunk), 3 if name.endswith("-main") else 1):
        one = prepare(case.chunk.iloc[i:i + 1].reset_index(drop=True), case.rows[i:i + 1], G.context(case))
        for col, vals in whole.values.items():
            assert repr(one.values[col][0]) == repr(vals[i]), (col, i)
        assert one.content[0] == whole.content[i]
        if not KINDS[case.kind].repeats:  # repeats kinds number equal identities through the chunk
            assert one.dedupe[0] == whole.dedupe[i]
        assert one.record_id[0] == whole.record_id[i]
        assert _strip_chunk_level(one.errors, 0, one.rid_label) == _strip_chunk_level(whole.errors, i,
                                                                                       whole.rid_label)


@pytest.mark.parametrize("name", [n for n in sorted(CASES) if n.endswith("-main")])
def test_text_and_object_frames_agree_and_keys_are_the_fingerprint(name: str) -> None:
    case = CASES[name]
    a = prepare(case.chunk.astype(str), case.rows, G.context(case))
    b = prepare(case.chunk.astype(object), case.rows, G.context(case))
    assert {k: [repr(x) for x in v] for k, v in a.values.items()} == {
        k: [repr(x) for x in v] for k, v in b.values.items()}
    assert a.dedupe == b.dedupe and list(a.errors.items()) == list(b.errors.items())
    assert a.content == b.content == [_fingerprint(a, i) for i in range(a.n)]
