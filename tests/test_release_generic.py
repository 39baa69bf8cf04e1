"""Release tables in other layouts: .txt in traditional characters and full-width punctuation, numbering
(1) 1) ① 一、 5.1 第一条, two clauses on one line, nested sub-items, export debris; a real Word file
whose numbering exists only as Word list numbering; a real PDF read through pdftotext. What the
reader cannot read is reported, not guessed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tracker.kpispec.example_docx import write_example
from tracker.kpispec.programme import programme_at
from tracker.kpispec.release_docx import docx_lines
from tracker.kpispec.release_generic import (
    Line,
    parse_funding,
    parse_generic_table,
    parse_period_any,
    split_numbered,
)

PROGRAMME = """\
programme_version: 1
key: cs-2025
issuer: 测试区民政局
title: 测试区2025年政府购买社会工作服务项目
code_pattern: 'CS2025-\\d{2}'
categories: [{label: 社区治理类}, {label: 为老服务类}]
funding: {unit: 万元, basis: cap}
release_tables: [{path: table.txt}]
"""

TABLE = """\
測試區2025年政府購買社會工作服務項目發布表

項目編號：CS2025-01
項目名稱：長者睦鄰關愛服務
項目類別：為老服務類
服務期限：2025年3月1日起，服務期1年
購買金額：不超過30萬元
實施區域：測試區
服務內容及產出：
一、開展三個小組，每週至少兩次活動。二、服務對象滿意度不低於９０％
三、主題活動
（1）開展社區活動不少於12場，每場不少於30人
（2）走訪長者不少於200人[bookmark: _Toc1234]
- 2 -
项目编号：CS2025-02
项目名称：儿童成长
项目类别：社区治理类
服务期限：2025.3.1至2026.2.28
购买金额：待定
服务内容：
5.1 开展亲子活动不少于10场
5.2 编印手册1本，不少于1万字
5.4 志愿者培训2次
项目编号：CS2025-03
项目名称：无周期的项目
项目类别：文体类
服务期限：另行通知
服务内容：
1) 开展讲座4场; 2) 发放资料500份
"""


@pytest.fixture()
def table(tmp_path: Path):
    (tmp_path / "programme.yaml").write_text(PROGRAMME, "utf-8")
    (tmp_path / "table.txt").write_text(TABLE, "utf-8")
    return parse_generic_table(tmp_path / "table.txt", programme_at(tmp_path / "programme.yaml"))


def test_traditional_text_is_matched_and_kept_verbatim(table) -> None:
    p = table.projects["CS2025-01"]
    assert p.name == "長者睦鄰關愛服務"  # verbatim
    assert p.category == "为老服务类"  # matched against the programme's categories
    assert (p.funding_wan, p.funding_basis) == (30.0, "cap")
    assert p.period == (dt.date(2025, 3, 1), dt.date(2026, 2, 28))
    assert [(c.number, c.text) for c in p.clauses] == [
        (1, "開展三個小組，每週至少兩次活動"),  # two clauses on one line are split
        (2, "服務對象滿意度不低於９０％"),
        (3, "主題活動\n（1）開展社區活動不少於12場，每場不少於30人\n（2）走訪長者不少於200人"),  # bookmark gone
    ]


def test_hierarchical_numbers_gaps_and_unknown_funding(table) -> None:
    p = table.projects["CS2025-02"]
    assert [(c.number, c.text) for c in p.clauses] == [
        ("5.1", "开展亲子活动不少于10场"), ("5.2", "编印手册1本，不少于1万字"), ("5.4", "志愿者培训2次")]
    assert (p.funding_wan, p.funding_basis) == (None, "unknown")
    assert p.period == (dt.date(2025, 3, 1), dt.date(2026, 2, 28))
    assert "CS2025-02：第23行：条款编号从5.2跳到5.4，中间的条款缺失，请核对" in table.issues


def test_what_cannot_be_read_is_reported(table) -> None:
    p = table.projects["CS2025-03"]
    assert p.period is None and p.category_label == "" and p.category == "文体类"
    assert [(c.number, c.text) for c in p.clauses] == [(1, "开展讲座4场"), (2, "发放资料500份")]
    assert "CS2025-03：无法识别项目周期“另行通知”" in table.issues
    assert any(i.startswith("CS2025-03：项目类别“文体类”不是计划的类别") for i in table.issues)
    assert any("去除了导出残留" in i for i in table.issues)


@pytest.mark.parametrize(("text", "expected"), [
    ("(1)开展活动5场\n(2)服务100人", [(1, "开展活动5场"), (2, "服务100人")]),
    ("1)开展活动5场\n2)服务100人", [(1, "开展活动5场"), (2, "服务100人")]),
    ("①开展活动5场；②服务100人", [(1, "开展活动5场"), (2, "服务100人")]),
    ("第一条 开展活动5场\n第二条 服务100人", [(1, "开展活动5场"), (2, "服务100人")]),
    ("目标：服务不少于50户\n1、开展活动5场\n2、服务100人",
     [(0, "目标：服务不少于50户"), (1, "开展活动5场"), (2, "服务100人")]),
    ("1．开展活动5场，其中①讲座2场②沙龙3场\n2．服务1.5万人次", [(1, "开展活动5场，其中①讲座2场②沙龙3场"),
                                                   (2, "服务1.5万人次")]),
])
def test_numbering_styles(text: str, expected: list) -> None:
    clauses, _notes = split_numbered([Line(t, i) for i, t in enumerate(text.split("\n"), 1)])
    assert [(c.number, c.text) for c in clauses] == expected


def test_a_number_going_backwards_is_merged_and_reported() -> None:
    clauses, notes = split_numbered([Line("1. 开展活动5场", 1), Line("2. 服务100人", 2), Line("1. 另一份清单", 3)])
    assert [c.number for c in clauses] == [1, 2]
    assert clauses[1].text == "服务100人\n1. 另一份清单"
    assert notes == ["第3行的编号“1. 另一份”不在上一条（第2条）之后，已并入上一条，请核对"]


def test_funding_and_period_forms() -> None:
    assert parse_funding("最高资助资金30万元") == (30.0, "cap")
    assert parse_funding("300000元") == (30.0, "amount")
    assert parse_funding("1.2亿元") == (12000.0, "amount")
    assert parse_funding("以实际签约为准") == (None, "unknown")
    assert parse_period_any("2024年6月1日-2025年4月30日") == (dt.date(2024, 6, 1), dt.date(2025, 4, 30))
    assert parse_period_any("2024-06-01至2025-04-30") == (dt.date(2024, 6, 1), dt.date(2025, 4, 30))
    assert parse_period_any("自2025年3月1日起12个月") == (dt.date(2025, 3, 1), dt.date(2026, 2, 28))
    assert parse_period_any("2025年2月30日起1年") is None  # not a date


def test_word_list_numbering_is_rebuilt(tmp_path: Path) -> None:
    path = write_example(tmp_path / "t.docx")
    # The numbers are not in the paragraphs' text: only Word's numPr gives them.
    import docx

    texts = [p.text for t in docx.Document(str(path)).tables for c in t.columns[1].cells for p in c.paragraphs]
    assert "建档探访：为辖区独居、空巢老人建立服务档案，建档不少于300人" in texts
    lines = docx_lines(path)
    assert "服务内容及产出：一、建档探访：为辖区独居、空巢老人建立服务档案，建档不少于300人" in lines
    assert "（2）开展睦邻互助小组不少于6个" in lines and "④工作人員須持有無犯罪記錄證明" in lines
    assert "5.3编印《社区社会组织工作手册》1本" in lines
    prog_dir = tmp_path / "prog"
    prog_dir.mkdir()
    (prog_dir / "programme.yaml").write_text((Path(__file__).resolve().parent.parent / "examples" / "shifanqu-2025"
                                              / "programme.yaml").read_text("utf-8"), "utf-8")
    t = parse_generic_table(path, programme_at(prog_dir / "programme.yaml"))
    assert sorted(t.projects) == ["SF2025-01", "SF2025-02", "SF2025-03"]
    p1, p2, p3 = (t.projects[c] for c in ("SF2025-01", "SF2025-02", "SF2025-03"))
    assert [c.number for c in p1.clauses] == [1, 2, 3, 4]
    assert p1.clauses[0].text == ("建档探访：为辖区独居、空巢老人建立服务档案，建档不少于300人\n"
                                  "（1）上门探访不少于3000人次，每人每月不少于1次\n（2）开展睦邻互助小组不少于6个")
    assert (p1.funding_wan, p1.funding_basis, p1.period) == (30.0, "cap", (dt.date(2025, 3, 1), dt.date(2026, 2, 28)))
    assert [c.number for c in p2.clauses] == [1, 2, 3, 4] and p2.category == "儿童服务类"
    assert p2.clauses[1].text == "每週至少兩次課業輔導，每次不少於1小時"
    assert (p2.funding_wan, p2.period) == (None, (dt.date(2025, 4, 1), dt.date(2026, 9, 30)))
    assert [c.number for c in p3.clauses] == ["5.1", "5.2", "5.3", "5.4"]
    assert (p3.funding_wan, p3.funding_basis) == (15.0, "amount")


def test_pdf_text(tmp_path: Path) -> None:
    from weasyprint import HTML

    html = """<html lang="zh-CN"><body style="font-family: 'Noto Sans CJK SC'">
    <p>项目编号：CS2025-05</p><p>项目名称：社区助餐服务</p><p>项目类别：为老服务类</p>
    <p>服务期限：2025年3月1日-2026年2月28日</p><p>购买金额：20万元</p><p>服务内容及产出：</p>
    <p>1.开展助餐服务不少于5000人次</p><p>2.服务对象满意度不低于90%</p></body></html>"""
    pdf = tmp_path / "t.pdf"
    HTML(string=html).write_pdf(pdf)
    (tmp_path / "programme.yaml").write_text(PROGRAMME.replace("table.txt", "t.pdf"), "utf-8")
    t = parse_generic_table(pdf, programme_at(tmp_path / "programme.yaml"))
    p = t.projects["CS2025-05"]
    assert (p.name, p.funding_wan) == ("社区助餐服务", 20.0)
    assert [(c.number, c.text) for c in p.clauses] == [(1, "开展助餐服务不少于5000人次"), (2, "服务对象满意度不低于90%")]


def test_unreadable_files_say_what_to_do(tmp_path: Path) -> None:
    from tracker.errors import TrackerError
    from tracker.kpispec.release_generic import document_lines

    (tmp_path / "a.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(TrackerError, match=r"另存为 \.docx"):
        document_lines(tmp_path / "a.doc")
    (tmp_path / "b.docx").write_bytes(b"not a zip")
    with pytest.raises(TrackerError, match=r"无法打开 Word 文件 b\.docx"):
        document_lines(tmp_path / "b.docx")
    (tmp_path / "c.txt").write_bytes("项目编号：CS2025-09\n".encode("gb18030"))
    lines, fmt, _ = document_lines(tmp_path / "c.txt")
    assert fmt == "txt" and lines[0].text == "项目编号：CS2025-09"
