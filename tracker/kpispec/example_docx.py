"""Write the example second programme's release table: a Word file as a district would publish it.

示范区2025年政府购买社会工作服务项目发布表 (an invented district): one table per project, clause
numbers made by Word's own list numbering (``numPr`` pointing at ``numbering.xml``: ``一、`` with
``（1）`` sub-items, ``5.1``-style multilevel numbers, ``①``), one project in traditional characters with
full-width punctuation, funding as a cap and as 待定, periods as a start plus a duration, and a Word
bookmark inside a clause. ``python -m tracker.kpispec.example_docx OUT.docx`` writes it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

# (numId, [(ilvl, numFmt, lvlText, start)])
LISTS: dict[int, list[tuple[int, str, str, int]]] = {
    11: [(0, "chineseCounting", "%1、", 1), (1, "decimal", "（%2）", 1)],
    12: [(0, "decimal", "%1.", 5), (1, "decimal", "%1.%2", 1)],  # items at level 1 only: 5.1, 5.2 …
    13: [(0, "decimalEnclosedCircle", "%1", 1)],
}

PROJECTS: list[dict[str, Any]] = [
    {
        "code": "SF2025-01", "name": "长者睦邻互助服务", "category": "为老服务类", "funding": "不超过30万元",
        "period": "2025年3月1日起，服务期1年", "area": "示范区", "targets": "辖区独居、空巢老人",
        "list": 11,
        "outputs": [
            (0, "建档探访：为辖区独居、空巢老人建立服务档案，建档不少于300人"),
            (1, "上门探访不少于3000人次，每人每月不少于1次"),
            (1, "开展睦邻互助小组不少于6个"),
            (0, "社区活动：开展长者社区活动不少于24场，每场不少于20人"),
            (0, "服务对象满意度不低于90%"),
            (0, "所有活动方案须经区民政局审核后方可开展；服务过程中不得发生安全事故和有责投诉"),
        ],
    },
    {
        "code": "SF2025-02", "name": "困境兒童成長陪伴", "category": "兒童服務類", "funding": "待定",
        "period": "2025年4月1日起，服務期18個月", "area": "示範區", "targets": "困境兒童及其家庭",
        "list": 13,
        "outputs": [
            (0, "開展三個成長小組，每個小組不少於6期；開展個案輔導不少於20例"),
            (0, "每週至少兩次課業輔導，每次不少於1小時"),
            (0, "形成1份不少於8000字的服務總結報告"),
            (0, "工作人員須持有無犯罪記錄證明"),
        ],
    },
    {
        "code": "SF2025-03", "name": "社区社会组织培育", "category": "社区治理类", "funding": "15万元",
        "period": "2025年3月1日-2026年2月28日", "area": "示范区各街道", "targets": "社区社会组织",
        "list": 12,
        "outputs": [
            (1, "培育社区社会组织不少于10家，覆盖不少于5个街道"),
            (1, "开展能力建设培训不少于8场，培训人次不少于300人次"),
            (1, "编印《社区社会组织工作手册》1本"),
            (1, "项目成果在市级以上媒体报道不少于2篇；建立社区社会组织孵化工作机制"),
        ],
    },
]


def _numbering(doc: Any) -> None:
    root = doc.part.numbering_part.element
    for num_id, levels in LISTS.items():
        an = OxmlElement("w:abstractNum")
        an.set(qn("w:abstractNumId"), str(num_id))
        for ilvl, fmt, text, start in levels:
            lvl = OxmlElement("w:lvl")
            lvl.set(qn("w:ilvl"), str(ilvl))
            for tag, val in (("w:start", str(start)), ("w:numFmt", fmt), ("w:lvlText", text)):
                el = OxmlElement(tag)
                el.set(qn("w:val"), val)
                lvl.append(el)
            an.append(lvl)
        # abstractNum elements must come before num elements
        first_num = root.find(qn("w:num"))
        if first_num is not None:
            first_num.addprevious(an)
        else:
            root.append(an)
        num = OxmlElement("w:num")
        num.set(qn("w:numId"), str(num_id))
        ref = OxmlElement("w:abstractNumId")
        ref.set(qn("w:val"), str(num_id))
        num.append(ref)
        root.append(num)


def _numbered(paragraph: Any, num_id: int, ilvl: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    numpr = OxmlElement("w:numPr")
    lv = OxmlElement("w:ilvl")
    lv.set(qn("w:val"), str(ilvl))
    nid = OxmlElement("w:numId")
    nid.set(qn("w:val"), str(num_id))
    numpr.append(lv)
    numpr.append(nid)
    ppr.append(numpr)


def _bookmark(paragraph: Any, name: str) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), "0")
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), "0")
    paragraph._p.insert(1, start)
    paragraph._p.append(end)


def write_example(path: Path) -> Path:
    doc = Document()
    _numbering(doc)
    doc.add_heading("示范区2025年政府购买社会工作服务项目发布表", level=1)
    doc.add_paragraph("示范区民政局　2025年1月")
    for p in PROJECTS:
        doc.add_paragraph(f"项目编号：{p['code']}")
        rows = [("项目名称", p["name"]), ("项目类别", p["category"]), ("服务对象", p["targets"]),
                ("服务内容及产出", None), ("购买金额", p["funding"]), ("实施区域", p["area"]),
                ("服务期限", p["period"])]
        table = doc.add_table(rows=len(rows), cols=2)
        for r, (label, value) in enumerate(rows):
            table.cell(r, 0).text = label
            cell = table.cell(r, 1)
            if value is not None:
                cell.text = value
                continue
            first = True
            for ilvl, text in p["outputs"]:
                para = cell.paragraphs[0] if first else cell.add_paragraph()
                first = False
                para.add_run(text)
                _numbered(para, p["list"], ilvl)
                if "睦邻互助小组" in text:
                    _bookmark(para, "_Toc190000001")
        doc.add_paragraph("")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


if __name__ == "__main__":
    print(write_example(Path(sys.argv[1] if len(sys.argv) > 1 else "shifanqu-2025.docx")))
