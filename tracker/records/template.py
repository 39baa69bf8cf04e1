"""XLSX templates for operators: the contract's Chinese headers, dropdowns for the project's
vocabularies (activity types, levels, respondent types …), date-formatted columns, an example row
(its 编号 starts with 示例, so importing the filled template skips it) and an instructions sheet."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from tracker.kpispec.model import LEVELS, Spec
from tracker.records.columns import (
    BOOL,
    CODE,
    DATE,
    DISTRICT,
    EMPLOYMENT,
    ID_NUMBER,
    KINDS,
    LEVEL,
    PHASE,
    POPULATION,
    SATISFACTION,
    TOWN,
    VOCAB,
    VOCAB_LABELS,
    resolve_kind,
)
from tracker.records.gazetteer import area_vocab
from tracker.records.privacy import check_char
from tracker.vocab import FIVE_LEVELS

TEMPLATE_ROWS = 2000
EXAMPLE_ID = "示例-导入时自动跳过"


def _options(spec: Spec, col_type: str, vocab: str | None) -> list[str]:
    if col_type == VOCAB and vocab == "approval_scopes":
        return [it.label for it in (*spec.activity_types, *spec.deliverable_types)]
    if col_type == VOCAB and vocab:
        return [it.label for it in getattr(spec, vocab)]
    if col_type == POPULATION:
        return [p.label for p in spec.populations]
    if col_type == LEVEL:
        return list(LEVELS)
    if col_type in (TOWN, DISTRICT):
        place = area_vocab(tuple(spec.project.area))
        return list(place.towns if col_type == TOWN else place.districts) if place.known else []
    if col_type == SATISFACTION:
        return [*FIVE_LEVELS, "是", "否"]
    if col_type == BOOL:
        return ["是", "否"]
    if col_type == PHASE:
        return ["前测", "中测", "后测", "单次"]
    if col_type == EMPLOYMENT:
        return ["专职", "兼职", "志愿者"]
    return []


def _example(spec: Spec, kind: str) -> dict[str, object]:
    start = spec.project.period.start
    first = lambda name: (getattr(spec, name)[0].label if getattr(spec, name) else "")  # noqa: E731
    person_type = next((t for t in spec.activity_types if t.serves == "person"), None)
    group_type = next((t for t in spec.activity_types if t.serves == "group"), None)
    place = area_vocab(tuple(spec.project.area))
    town = place.towns[0] if place.known and place.towns else "某某街道"
    body = "11010519491231002"
    ex: dict[str, dict[str, object]] = {
        "roster": {"person_id": EXAMPLE_ID, "name": "张三", "id_number": body + check_char(body),
                   "population": first("populations"), "town": town, "village": "某某村",
                   "enrolled_on": start},
        "activity": ({"record_id": EXAMPLE_ID, "date": start, "activity": person_type.label, "person_id": "P0001",
                      "hours": 1, "town": town, "staff": "李四", "notes": "上门探访，了解近况"}
                     if person_type else
                     {"record_id": EXAMPLE_ID, "date": start, "activity": group_type.label if group_type else "",
                      "participants": 30, "hours": 2, "location": "某某社区活动室", "level": "区县"}),
        "survey": {"record_id": EXAMPLE_ID, "date": start, "respondent_type": first("respondent_types"),
                   "person_id": "P0001", "satisfied": "满意", "score": 95},
        "deliverable": {"record_id": EXAMPLE_ID, "date": start, "deliverable": first("deliverable_types"),
                        "title": "某某调研报告", "words": 5000},
        "approval": {"record_id": EXAMPLE_ID, "date": start, "activity": "", "valid_from": start,
                     "valid_to": spec.project.period.end, "reference": "杭民〔2024〕1号"},
        "incident": {"record_id": EXAMPLE_ID, "date": start, "incident_type": first("incident_types"),
                     "description": "事件经过"},
        "staff": {"record_id": EXAMPLE_ID, "staff_id": "S001", "name": "李四", "role": "社工",
                  "works_with_children": "否", "started_on": start},
        "credential": {"record_id": EXAMPLE_ID, "staff_id": "S001", "credential": first("credentials"),
                       "obtained_on": start, "reference": "证书编号"},
        "assessment": {"record_id": EXAMPLE_ID, "date": start, "instrument": first("instruments"),
                       "person_id": "P0001", "phase": "前测", "score": 60},
        "expense": {"record_id": EXAMPLE_ID, "date": start, "category": "人员经费", "amount": "1200.00",
                    "notes": "社工补贴"},
    }
    return ex[kind]


def write_template(spec: Spec, kind: str, out: Path) -> Path:
    kd = KINDS[resolve_kind(kind)]
    wb = Workbook()
    ws = wb.active
    ws.title = kd.label
    lists = wb.create_sheet("选项")
    notes = wb.create_sheet("说明")
    head_font = Font(bold=True)
    req_fill = PatternFill("solid", fgColor="FCE4D6")
    opt_fill = PatternFill("solid", fgColor="DDEBF7")
    example = _example(spec, kd.kind)
    list_col = 0
    last = TEMPLATE_ROWS + 1
    for j, col in enumerate(kd.columns, start=1):
        letter = get_column_letter(j)
        cell = ws.cell(row=1, column=j, value=col.label)
        cell.font = head_font
        cell.fill = req_fill if col.required else opt_fill
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[letter].width = max(12, len(col.label) * 2 + 4)
        value = example.get(col.key)
        ex = ws.cell(row=2, column=j, value=value if value != "" else None)
        rng = f"{letter}2:{letter}{last}"
        if col.type == DATE:
            for r in range(2, last + 1):
                ws.cell(row=r, column=j).number_format = "yyyy-mm-dd"
            dv = DataValidation(type="date", operator="greaterThan", formula1="DATE(1900,1,1)", allow_blank=True,
                                showErrorMessage=True, errorTitle="日期格式", error="请填写日期，如 2024-06-01")
            ws.add_data_validation(dv)
            dv.add(rng)
        elif col.type in (CODE, ID_NUMBER):
            for r in range(2, last + 1):
                ws.cell(row=r, column=j).number_format = "@"
            ex.number_format = "@"
        opts = _options(spec, col.type, col.vocab)
        if opts:
            list_col += 1
            ll = get_column_letter(list_col)
            lists.cell(row=1, column=list_col, value=col.label)
            for i, o in enumerate(opts, start=2):
                lists.cell(row=i, column=list_col, value=o)
            ref = f"{quote_sheetname(lists.title)}!${ll}$2:${ll}${len(opts) + 1}"
            what = VOCAB_LABELS.get(col.vocab or "", col.label)
            dv = DataValidation(type="list", formula1=ref, allow_blank=True, showErrorMessage=True,
                                errorTitle=f"{what}无效", error=f"请从下拉列表中选择{what}")
            ws.add_data_validation(dv)
            dv.add(rng)
    ws.freeze_panes = "A2"
    lists.sheet_state = "hidden"

    notes.column_dimensions["A"].width = 100
    lines = [
        f"{spec.project.code} {spec.project.name}：{kd.label}导入模板",
        "",
        "1. 在第一个工作表中每行填写一条记录；表头不要修改（可增加其他列，导入时作为附加信息保留）。",
        "2. 橙色表头为必填列，蓝色为选填列；有下拉箭头的列请从列表中选择。",
        "3. 第2行是示例（编号以“示例”开头），导入时自动跳过；可直接覆盖或删除。",
        "4. 日期可写作 2024-06-01、2024/6/1、2024.6.1 或 2024年6月1日；日期须在项目周期"
        f"（{spec.project.period.start} 至 {spec.project.period.end}）内，且不晚于今天。",
        "5. 身份证号、服务对象编号请按文本填写（本模板已设为文本格式），否则 Excel 会丢失末几位。",
        "6. 导入：tracker import 文件名 --project " + spec.project.code + f" --kind {kd.kind}；"
        "有任何一行无效时不导入，并生成带“错误说明”列的错误文件；--skip-invalid 只导入有效行。",
        "7. 同一文件或同一行重复导入不会重复计数；已导入记录的更正请用 tracker amend / tracker void（须写明原因）。",
        "",
        "列说明：",
    ]
    for col in kd.columns:
        opts = _options(spec, col.type, col.vocab)
        extra = f"（可选：{'、'.join(opts)}）" if opts else ""
        lines.append(f"  {col.label}（{col.key}）{'【必填】' if col.required else ''}{extra}")
    for i, line in enumerate(lines, start=1):
        notes.cell(row=i, column=1, value=line)
    notes["A1"].font = Font(bold=True, size=14)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
