"""Read release tables in the common layouts: ``.docx``, ``.txt`` and ``.pdf`` text.

A project starts at its 项目编号; its fields are found by their labels (项目名称, 项目类别, 服务内容及产出 …,
as a table row or as ``标签：值``); the outputs are split into clauses by their numbering: ``1.``,
``1、``, ``1)``, ``(1)``, ``①``, ``一、``, ``第一条`` or ``5.1``. The first numbering style met is the
clause level; other styles inside a clause are its sub-items and stay in its text (on their own lines).
Two clauses on one line are split. Traditional characters and full-width punctuation are normalised for
matching only; every clause keeps its original text verbatim. Word list numbering (``numPr``), which
is not in the paragraph text, is rebuilt from ``numbering.xml``. What cannot be read is reported in
``ReleaseTables.issues``, never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import TrackerError
from tracker.kpispec.model import add_months, duration_months
from tracker.kpispec.programme import Programme
from tracker.kpispec.release_table import ReleaseClause, ReleaseProject, ReleaseTables
from tracker.kpispec.zh_normalise import CIRCLED, normalise, normalise_with_map

TRAILING = ";。.,， \t；"
# Export debris: Word bookmarks, pandoc anchors, page footers, form feeds.
_DEBRIS = [
    re.compile(r"\[bookmark: [^\]]*\]"),
    re.compile(r"\[\]\{#[^}]*\}"),
    re.compile(r"\{#_Toc\d+[^}]*\}"),
]
_PAGE_LINE = re.compile(r"^\s*(?:-\s*\d+\s*-|第\s*\d+\s*页(?:\s*[,，]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+)\s*$")

# Field labels, longest first within each field (normalised text, no spaces).
LABELS: dict[str, tuple[str, ...]] = {
    "code": ("项目编号", "项目编码", "项目代码"),
    "name": ("项目名称",),
    "category": ("项目类别", "服务类别", "项目类型", "项目领域"),
    "summary": ("项目简介和目标", "项目简介及目标", "项目简介", "项目目标", "项目概述", "服务目标"),
    "target_groups": ("主要服务对象", "服务对象"),
    "service_scale": ("服务人数/人次", "服务人数", "服务规模"),
    "outputs": ("项目主要活动和基本产出", "主要活动和基本产出", "服务内容及产出要求", "服务内容及产出", "服务内容及要求",
                "服务内容和要求", "基本产出", "产出要求", "产出指标", "服务内容", "服务要求", "服务指标", "绩效目标"),
    "funding": ("项目最高资助资金", "最高资助资金", "最高资助金额", "资助金额", "资助资金", "购买金额", "购买服务金额",
                "项目预算金额", "项目预算", "预算金额", "项目资金"),
    "area": ("项目实施区域", "实施区域", "服务区域", "服务范围"),
    "period": ("项目周期", "服务期限", "服务周期", "实施周期", "项目期限", "服务时间"),
    "eligibility": ("申报项目基本条件", "申报条件", "承接主体资格", "承接方资格", "申报主体资格"),
}
_ALL_LABELS = sorted(((lab, f) for f, labs in LABELS.items() for lab in labs), key=lambda x: -len(x[0]))

_CN = "零一二两三四五六七八九十"


def _cn_int(tok: str) -> int | None:
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
    if not tok or any(c not in _CN for c in tok):
        return None
    if "十" not in tok:
        return digits[tok] if len(tok) == 1 else None
    a, _, b = tok.partition("十")
    return (digits.get(a, 1) if a else 1) * 10 + (digits.get(b, 0) if b else 0)


# Numbering tokens at the start of a (normalised) line: (style, regex). The value is group 1.
_NUMBERINGS: list[tuple[str, re.Pattern[str]]] = [
    ("article", re.compile(r"^第([一二三四五六七八九十\d]+)条\s*[、.:]?\s*")),
    ("hier", re.compile(r"^(\d{1,2}(?:\.\d{1,2})+)(?![\d%万亿倍元个人])\s*[、.]?\s*")),
    ("paren", re.compile(r"^\((\d{1,2})\)\s*")),
    ("cnparen", re.compile(r"^\(([一二三四五六七八九十]+)\)\s*")),
    ("circled", re.compile(rf"^([{CIRCLED}])\s*")),
    ("cn", re.compile(r"^([一二三四五六七八九十]+)\s*[、.]\s*")),
    ("dec)", re.compile(r"^(\d{1,2})\)\s*")),
    ("dec", re.compile(r"^(\d{1,2})\s*[.、](?!\d)\s*")),
]


def numbering(norm_line: str) -> tuple[str, int | str, int] | None:
    """(style, value, length of the token) of a numbering at the start of a normalised line."""
    for style, rx in _NUMBERINGS:
        m = rx.match(norm_line)
        if not m:
            continue
        tok = m.group(1)
        if style == "hier":
            return style, tok, m.end()
        if style == "circled":
            return style, CIRCLED.index(tok) + 1, m.end()
        value = int(tok) if tok.isdigit() else _cn_int(tok)
        if value is None:
            continue
        return style, value, m.end()
    return None


@dataclass
class Line:
    text: str  # original text (debris removed)
    number: int  # 1-based line (paragraph) number in the document
    numbered: bool = False  # the numbering was rebuilt from Word's list numbering


# ------------------------------------------------------------------ documents to lines


def document_lines(path: Path) -> tuple[list[Line], str, list[str]]:
    """The document's lines in reading order, its format (docx/txt/pdf) and what reading removed."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise TrackerError(f"发布表文件 {path} 不存在")
    if suffix == ".docx":
        from tracker.kpispec.release_docx import docx_lines

        raw = docx_lines(path)
        fmt = "docx"
    elif suffix == ".pdf":
        raw = _pdf_text(path).split("\n")
        fmt = "pdf"
    elif suffix in (".txt", ".text", ".md", ""):
        raw = _decode(path.read_bytes(), path).split("\n")
        fmt = "txt"
    elif suffix == ".doc":
        raise TrackerError(f"{path.name} 是旧版 Word（.doc）文件：请在 Word 或 WPS 中另存为 .docx 后再读取")
    else:
        raise TrackerError(f"无法读取 {path.name}：发布表应为 .docx、.txt 或 .pdf 文件")
    notes: list[str] = []
    lines: list[Line] = []
    for i, text in enumerate(raw, 1):
        text = text.replace("\f", "").rstrip("\r")
        cleaned = text
        for rx in _DEBRIS:
            cleaned = rx.sub("", cleaned)
        if cleaned != text:
            notes.append(f"第{i}行：去除了导出残留（书签/锚点）")
        if _PAGE_LINE.match(normalise(cleaned)):
            continue
        lines.append(Line(cleaned, i))
    return lines, fmt, notes


def _decode(data: bytes, path: Path) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise TrackerError(f"{path.name} 的编码无法识别（应为 UTF-8 或 GB18030）")


def _pdf_text(path: Path) -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        raise TrackerError("读取 PDF 需要 poppler-utils 中的 pdftotext：请运行 scripts/system-deps 安装")
    out = subprocess.run([exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=120)
    if out.returncode != 0:
        raise TrackerError(f"无法读取 PDF {path.name}：{out.stderr.decode('utf-8', 'replace').strip()}")
    text = out.stdout.decode("utf-8", "replace")
    if not text.strip():
        raise TrackerError(f"PDF {path.name} 中没有文字（可能是扫描件）：请向发布单位索取 Word 或文字版 PDF")
    return text


# ------------------------------------------------------------------ lines to projects


def _label_at(norm: str) -> tuple[str, str, int] | None:
    """(field, label, end) when a normalised line starts with a field label followed by : or its end."""
    for lab, fld in _ALL_LABELS:
        rx = r"^\s*" + r"\s*".join(map(re.escape, lab)) + r"\s*(?:\((?:万元|元)\))?\s*(?:[:|\t]|$)"
        m = re.match(rx, norm)
        if m:
            return fld, lab, m.end()
    return None


_CODE_LINE = re.compile(r"项目编[号码]\s*[:：]?\s*[【\[]?\s*([A-Za-z0-9][A-Za-z0-9_-]*)\s*[】\]]?")


def parse_generic_table(path: Path, programme: Programme | None = None) -> ReleaseTables:
    lines, fmt, notes = document_lines(path)
    issues: list[str] = [f"{path.name} {n}" for n in notes[:5]]
    if len(notes) > 5:
        issues.append(f"{path.name}：另有 {len(notes) - 5} 行去除了导出残留")
    code_rx = re.compile(programme.model.code_pattern) if programme else None

    starts: list[tuple[int, str]] = []
    for i, ln in enumerate(lines):
        m = _CODE_LINE.search(normalise(ln.text))
        if m:
            code = m.group(1)
            if programme and code_rx and not code_rx.fullmatch(code):
                issues.append(f"第{ln.number}行的项目编号“{code}”不符合计划的编号格式 "
                              f"{programme.model.code_pattern}，未读取该项目")
                continue
            starts.append((i, code))
    if not starts:
        issues.append(f"{path.name}：没有找到任何“项目编号”，无法读取项目")
    projects: dict[str, ReleaseProject] = {}
    for n, (i, code) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        if code in projects:
            issues.append(f"{code}：第{lines[i].number}行再次出现同一项目编号，只读取第一次出现的项目")
            continue
        proj, probs = _parse_project(code, lines[i:end], fmt, programme)
        projects[code] = proj
        issues.extend(f"{code}：{p}" for p in probs)
    return ReleaseTables(projects, {}, issues)


def _parse_project(code: str, lines: list[Line], fmt: str,
                   programme: Programme | None) -> tuple[ReleaseProject, list[str]]:
    fields: dict[str, list[Line]] = {}
    first_value_line: dict[str, int] = {}
    current: str | None = None
    problems: list[str] = []
    for ln in lines:
        norm = normalise(ln.text)
        if not norm.strip():
            continue
        hit = _label_at(norm)
        # Inside the outputs, a line such as "服务对象满意度…" is clause text, not a label (no colon).
        if hit and not (current == "outputs" and hit[0] != "code" and not re.search(r"[:|]", norm[: hit[2] + 1])
                        and norm.strip() != hit[1]):
            fld, _lab, end = hit
            current = fld
            _, index = normalise_with_map(ln.text)
            cut = index[end] if end < len(index) else len(ln.text)
            value = ln.text[cut:].strip().lstrip(":：|").strip()
            fields.setdefault(fld, [])
            if value:
                fields[fld].append(Line(value, ln.number))
                first_value_line.setdefault(fld, ln.number)
            continue
        if current is None:
            continue
        fields.setdefault(current, []).append(Line(ln.text.strip(), ln.number, ln.numbered))
        first_value_line.setdefault(current, ln.number)

    def text_of(fld: str) -> str:
        return "\n".join(x.text for x in fields.get(fld, [])).strip()

    name = re.sub(r"\s+", "", text_of("name"))
    if not name:
        problems.append("没有找到项目名称")
    category_text = text_of("category")
    category_label = _category(code, category_text, programme, problems)
    funding_text = text_of("funding")
    funding, basis = parse_funding(funding_text, programme.model.funding.unit if programme else "万元")
    if funding_text and funding is None and basis != "unknown":
        problems.append(f"无法识别资助金额“{funding_text}”")
    period_text = text_of("period")
    period = parse_period_any(period_text)
    if period is None:
        problems.append(f"无法识别项目周期“{period_text}”" if period_text else "没有找到项目周期")
    outputs = fields.get("outputs", [])
    if not outputs:
        problems.append("没有找到基本产出（服务内容及产出）一栏，未读取任何条款")
    clauses, notes = split_numbered(outputs, joiner="" if fmt == "pdf" else "\n")
    problems.extend(notes)
    proj = ReleaseProject(
        code=code, name=name, category_text=category_text, header_name=None, header_funding_wan=None,
        funding_wan=funding, summary=text_of("summary"), target_groups=text_of("target_groups"),
        service_scale=text_of("service_scale"), area_text=text_of("area"), period_text=period_text,
        period=period, eligibility=text_of("eligibility"), clauses=clauses, line=lines[0].number,
        notes=[], category_label=category_label, funding_basis=basis,
    )
    return proj, problems


def _category(code: str, text: str, programme: Programme | None, problems: list[str]) -> str:
    if programme is None:
        return re.sub(r"\s+", "", text)
    labels = programme.category_labels()
    squashed = normalise(re.sub(r"\s+", "", text))
    hit = [lab for lab in labels if normalise(lab) == squashed] or [lab for lab in labels if squashed and (
        normalise(lab) in squashed or squashed in normalise(lab))]
    by_code = programme.category_of_code(code)
    if hit:
        return hit[0]
    if by_code:
        return by_code
    if len(labels) == 1:
        return labels[0]
    problems.append(f"项目类别“{text}”不是计划的类别（{'、'.join(labels)}），请在规格中填写" if text
                    else "没有写项目类别，请在规格中填写")
    return ""


_MONEY = re.compile(r"(\d+(?:\.\d+)?)\s*(亿元|万元|元|亿|万)?")


def parse_funding(text: str, unit: str = "万元") -> tuple[float | None, str]:
    """(万元, basis): ``不超过30万元`` → (30, cap); ``300000元`` → (30, amount); ``待定`` → (None, unknown)."""
    t = normalise(text)
    if not t.strip():
        return None, "unknown"
    if re.search(r"待定|另行|未定|以.*为准|根据.*确定", t) and not _MONEY.search(t):
        return None, "unknown"
    m = _MONEY.search(t)
    if not m:
        return None, ""
    v = float(m.group(1))
    u = m.group(2) or unit
    wan = v * 10000 if u.startswith("亿") else v if u.startswith("万") else v / 10000
    basis = "cap" if re.search(r"最高|不超过|不高于|以内|上限|限额", normalise(text)) else "amount"
    return round(wan, 6), basis


_DATE = r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?"
_RANGE = re.compile(_DATE + r"\s*(?:-|至|到|~|～|—)\s*" + _DATE)
_START_DURATION = re.compile(_DATE + r"\s*(?:起|开始)?[^0-9一二两三四五六七八九十]{0,8}?"
                             r"(\d+(?:\.5)?|[一二两三四五六七八九十]+)\s*(个月|月|年|周年)")


def parse_period_any(text: str) -> tuple[dt.date, dt.date] | None:
    """``2025年3月1日-2026年2月28日``, ``2025.3.1至2026.2.28``, ``2025年3月1日起，服务期1年``."""
    t = normalise(text)
    try:
        m = _RANGE.search(t)
        if m:
            y1, m1, d1, y2, m2, d2 = (int(g) for g in m.groups())
            return dt.date(y1, m1, d1), dt.date(y2, m2, d2)
        m = _START_DURATION.search(t)
        if m:
            start = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            months = duration_months(m.group(4) + m.group(5))
            return (start, add_months(start, months)) if months else None
    except ValueError:
        return None
    return None


# ------------------------------------------------------------------ numbered clauses


def _split_inline(norm: str, orig: str, index: list[int], style: str, expected: int | str) -> list[str]:
    """Cut a line where the next clause number of the clause style follows a separator (two on a line)."""
    pieces: list[str] = []
    start = 0
    want = expected
    pos = 0
    while True:
        found = None
        for m in re.finditer(r"[;。；!！?？]\s*", norm[pos:]):
            at = pos + m.end()
            nb = numbering(norm[at:])
            if nb and nb[0] == style and nb[1] == want:
                found = at
                break
        if found is None:
            break
        cut = index[found] if found < len(index) else len(orig)
        pieces.append(orig[start:cut])
        start = cut
        pos = found + 1
        want = _next(want)
    pieces.append(orig[start:])
    return [p for p in pieces if p.strip()]


def _next(v: int | str) -> int | str:
    if isinstance(v, int):
        return v + 1
    head, _, last = v.rpartition(".")
    return f"{head}.{int(last) + 1}"


def _follows(prev: int | str | None, value: int | str) -> bool:
    if prev is None:
        return True
    if isinstance(value, int) and isinstance(prev, int):
        return value == prev + 1
    if isinstance(value, str) and isinstance(prev, str):
        p, v = [int(x) for x in prev.split(".")], [int(x) for x in value.split(".")]
        return len(p) == len(v) and ((v[:-1] == p[:-1] and v[-1] == p[-1] + 1) or (v[:-1] > p[:-1] and v[-1] == 1))
    return False


def _after(prev: int | str | None, value: int | str) -> bool:
    """A later clause number (a gap is reported, not merged)."""
    if prev is None:
        return True
    if type(prev) is not type(value):
        return False
    if isinstance(value, int):
        return value > prev  # type: ignore[operator]
    p, v = [int(x) for x in str(prev).split(".")], [int(x) for x in value.split(".")]
    return len(p) == len(v) and v > p


def split_numbered(lines: list[Line], *, joiner: str = "\n") -> tuple[list[ReleaseClause], list[str]]:
    """Clauses of an outputs cell: the first numbering style is the clause level; text before it is clause 0."""
    notes: list[str] = []
    style: str | None = None
    for ln in lines:
        nb = numbering(normalise(ln.text).strip())
        if nb:
            style = nb[0]
            break
    clauses: list[ReleaseClause] = []
    pre: list[Line] = []
    prev: int | str | None = None
    for ln in lines:
        orig = ln.text.strip()
        if not orig:
            continue
        norm, index = normalise_with_map(orig)
        nb = numbering(norm) if style else None
        pieces = [orig]
        if nb and nb[0] == style and _after(prev, nb[1]):
            pieces = _split_inline(norm, orig, index, style, _next(nb[1]))
        elif style and clauses:
            # a later clause of the clause style may still start after a separator on this line
            pieces = _split_inline(norm, orig, index, style, _next(prev)) if prev is not None else [orig]
            if len(pieces) > 1:
                _append(clauses[-1], pieces[0], joiner, norm)
                pieces = pieces[1:]
            else:
                _append(clauses[-1], orig, joiner, norm)
                if nb and nb[0] == style:
                    notes.append(f"第{ln.number}行的编号“{orig[:6]}”不在上一条（第{clauses[-1].number}条）之后，"
                                 "已并入上一条，请核对")
                continue
        for piece in pieces:
            pn, pidx = normalise_with_map(piece)
            pnb = numbering(pn)
            if pnb and pnb[0] == style and _after(prev, pnb[1]):
                cut = pidx[pnb[2]] if pnb[2] < len(pidx) else len(piece)
                if prev is not None and not _follows(prev, pnb[1]):
                    notes.append(f"第{ln.number}行：条款编号从{prev}跳到{pnb[1]}，中间的条款缺失，请核对")
                if prev is None and pnb[1] not in (1, "1") and not (isinstance(pnb[1], str)):
                    notes.append(f"第{ln.number}行：条款编号从{pnb[1]}开始，不是从1开始")
                clauses.append(ReleaseClause(pnb[1], piece[cut:].strip(), ln.number))  # type: ignore[arg-type]
                prev = pnb[1]
            elif clauses:
                _append(clauses[-1], piece, joiner, pn)
            else:
                pre.append(Line(piece, ln.number))
    if pre:
        text = "\n".join(p.text for p in pre)
        if re.search(r"\d|[一二两三四五六七八九十百千万]+[个次场期名人户篇份项]", normalise(text)) and clauses:
            clauses.insert(0, ReleaseClause(0, text, pre[0].number))
            notes.append("第1条之前另有目标表述，记为第0条")
        elif not clauses:
            if style is None and text.strip():
                clauses.append(ReleaseClause(1, text, pre[0].number))
                notes.append("基本产出没有条款编号，整栏记为第1条，请核对是否应拆分")
        else:
            notes.append(f"第1条之前的文字“{text[:20]}”没有数量，未作为条款")
    for c in clauses:
        c.text = c.text.strip().rstrip(TRAILING)
    return clauses, notes


def _append(clause: ReleaseClause, piece: str, joiner: str, norm: str) -> None:
    piece = piece.strip()
    if not piece:
        return
    sep = "\n" if numbering(norm.strip()) else joiner
    clause.text = clause.text.rstrip() + sep + piece
