"""Read the bureau's release tables (项目发布表) as published: the reference input of the specs.

The text is a Word export: each project's table is a run of cells, a cell starting with a tab and
continuing on lines without one, rows separated by blank lines. The parser keeps every clause
verbatim and reports the text's inconsistencies (``ReleaseTables.issues``) instead of fixing them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from tracker.errors import TrackerError
from tracker.kpispec.programme import PROGRAMME_FILE, Programme, programme_at, programme_for_table

BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")
SUMMARY = re.compile(r"^(.*类)项目发布汇总表$")


def _header_pattern(code_pattern: str) -> re.Pattern[str]:
    """``项目编号：【2024B004E】…30万元\t12`` (a page number after the tab: a table-of-contents line)."""
    code = re.sub(r"\(\?P<\w+>", "(?:", code_pattern)
    return re.compile(rf"项目编号：【({code})】(.*?)(\d+(?:\.\d+)?)万元\s*(?:\t(\d+))?\s*$")
CLAUSE_START = re.compile(r"^(\d{1,2})\s*[.、．]\s*")
TRAILING = "；;。.，, \t"


@dataclass
class ReleaseClause:
    number: int | str  # 5.1-style labels are strings
    text: str  # verbatim, number prefix and trailing punctuation removed, lines joined by "\n"
    line: int  # 1-based line in the release text where the clause starts


@dataclass
class ReleaseProject:
    code: str
    name: str
    category_text: str
    header_name: str | None
    header_funding_wan: float | None
    funding_wan: float | None
    summary: str
    target_groups: str
    service_scale: str
    area_text: str
    period_text: str
    period: tuple[dt.date, dt.date] | None
    eligibility: str
    clauses: list[ReleaseClause]
    line: int  # line of the table's title
    notes: list[str] = field(default_factory=list)
    category_label: str = ""  # the programme's category: from the code where it names one, else the table's
    funding_basis: str = ""  # amount | cap | unknown where the table says which (通用版式)

    @property
    def category(self) -> str:
        return self.category_label or re.sub(r"\s+", "", self.category_text)

    def clause(self, number: int | str) -> ReleaseClause | None:
        return next((c for c in self.clauses if c.number == number), None)


@dataclass
class ReleaseTables:
    projects: dict[str, ReleaseProject]
    summary_names: dict[str, str]  # code → name as listed in the category summary table
    issues: list[str] = field(default_factory=list)


def _clean(line: str) -> str:
    return BOOKMARK.sub("", line)


def _cells(lines: list[str]) -> list[list[str]]:
    """Rows of cells: a cell starts at a tab-led line and continues on lines without a tab."""
    rows: list[list[str]] = []
    row: list[str] = []
    for raw in lines:
        if not raw.strip() and not raw.startswith("\t"):
            if row:
                rows.append(row)
                row = []
            continue
        if raw.startswith("\t"):
            row.append(raw[1:])
        elif row:
            row[-1] += "\n" + raw
        else:
            row.append(raw)
    if row:
        rows.append(row)
    return rows


_PERIOD = re.compile(
    r"(\d{4})\s*[年\-]\s*(\d{1,2})\s*[月\-]\s*(\d{1,2})\s*日?\s*(?:-|至|—|～|~)\s*"
    r"(\d{4})\s*[年\-]\s*(\d{1,2})\s*[月\-]\s*(\d{1,2})"
)


def parse_period(text: str) -> tuple[dt.date, dt.date] | None:
    m = _PERIOD.search(text)
    if not m:
        return None
    y1, m1, d1, y2, m2, d2 = (int(g) for g in m.groups())
    return dt.date(y1, m1, d1), dt.date(y2, m2, d2)


def split_clauses(value: str, first_line: int) -> tuple[list[ReleaseClause], list[str]]:
    """Split the 基本产出 cell into numbered clauses; text before clause 1 becomes clause 0."""
    clauses: list[ReleaseClause] = []
    notes: list[str] = []
    expected = 1
    for offset, raw in enumerate(value.split("\n")):
        had_bookmark = bool(BOOKMARK.search(raw))
        line = _clean(raw).strip()
        if not line:
            continue
        m = CLAUSE_START.match(line)
        if m and int(m.group(1)) == expected:
            if had_bookmark:
                notes.append(f"第{expected}条的条款号前夹有 Word 书签残留")
            clauses.append(ReleaseClause(expected, line[m.end():], first_line + offset))
            expected += 1
        elif clauses:
            clauses[-1].text += "\n" + line
        else:
            clauses.append(ReleaseClause(0, line, first_line + offset))
            notes.append("第1条之前另有目标表述，记为第0条")
    for c in clauses:
        c.text = c.text.rstrip(TRAILING)
    return clauses, notes


def parse_release_tables(path: Path, programme: Programme | None = None) -> ReleaseTables:
    """Parse the 2024 Hangzhou layout; title, code pattern and categories come from the programme."""
    programme = programme or programme_for_table(path) or _default_programme()
    title = programme.title
    header_re = _header_pattern(programme.model.code_pattern)

    def category_of(code: str) -> str:
        return programme.category_of_code(code) or ""

    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    issues: list[str] = []

    # Table of contents: header lines that end with a tab and a page number, in order.
    toc: list[str] = []
    summary_names: dict[str, str] = {}
    category_rows: list[tuple[str, list[str]]] = []  # (category, names in 序号 order)
    body_headers: dict[int, tuple[str, str, float]] = {}
    titles: list[int] = []
    i = 0
    while i < len(lines):
        clean = _clean(lines[i]).strip()
        h = header_re.search(_clean(lines[i]))
        if h and h.group(4):
            toc.append(h.group(1))
        elif h:
            body_headers[i] = (h.group(1), h.group(2).strip(), float(h.group(3)))
        elif clean == title:
            titles.append(i)
        s = SUMMARY.match(clean)
        if s:
            end_of_summary = _next_nonsummary(lines, i + 1, header_re, title)
            category_rows.append((s.group(1), _summary_names(lines[i + 1 : end_of_summary])))
        i += 1

    # Match each body table to its code: the body header just above it, else the next TOC code.
    projects: dict[str, ReleaseProject] = {}
    prev_code: str | None = None
    for t_idx, t in enumerate(titles):
        header = next((body_headers[j] for j in range(t - 1, max(t - 4, -1), -1) if j in body_headers), None)
        if header:
            code, header_name, header_wan = header
        else:
            code = toc[toc.index(prev_code) + 1] if prev_code in toc else None
            header_name, header_wan = None, None
            if code is None:
                issues.append(f"第{t + 1}行的发布表前没有项目编号，且无法从目录推定")
                continue
            issues.append(f"{code}：正文缺少“项目编号”标题行，编号取自目录（第{t + 1}行的发布表）")
        end = titles[t_idx + 1] if t_idx + 1 < len(titles) else len(lines)
        block = lines[t + 1 : end]
        proj = _parse_table(code, header_name, header_wan, block, t + 2)
        proj.line = t + 1
        proj.category_label = category_of(code)
        projects[code] = proj
        prev_code = code

    # Summary tables list names by 序号 within each category, in the TOC order of that category.
    for category, names in category_rows:
        codes = [c for c in projects if category_of(c) == category.replace("其它", "其他")]
        for c, name in zip(codes, names, strict=False):
            summary_names[c] = re.sub(r"\s+", "", name)

    for code, p in projects.items():
        issues.extend(_project_issues(code, p, summary_names.get(code)))
    issues.extend(_code_gaps(sorted(projects)))
    return ReleaseTables(projects, summary_names, issues)


def _summary_names(lines: list[str]) -> list[str]:
    """Project names of a category summary table, in 序号 order (blank lines inside rows happen)."""
    flat = [c.strip() for row in _cells(lines) for c in row]
    rows: list[list[str]] = []
    for cell in flat:
        if cell == str(len(rows) + 1):
            rows.append([])
        elif rows:
            rows[-1].append(cell)
    # Columns differ between the category tables (项目名称 may be a group name, 项目说明 the project
    # name, its area, or “见项目发布表”): keep the first two cells as candidate names.
    return ["|".join(c for c in r[:2] if c and not c.startswith("见")) for r in rows]


def _next_nonsummary(lines: list[str], start: int, header_re: re.Pattern[str], title: str) -> int:
    for j in range(start, len(lines)):
        if header_re.search(_clean(lines[j])) or _clean(lines[j]).strip() == title:
            return j
    return len(lines)


def _parse_table(code: str, header_name: str | None, header_wan: float | None, block: list[str],
                 first_line: int) -> ReleaseProject:
    cells: dict[str, tuple[str, int]] = {}
    # Track line numbers: walk rows again to know where each value starts.
    line_no = first_line
    row_start_lines: list[int] = []
    in_row = False
    for raw in block:
        if raw.strip() and not in_row:
            row_start_lines.append(line_no)
            in_row = True
        elif not raw.strip():
            in_row = False
        line_no += 1
    for n, row in enumerate(_cells(block)):
        if len(row) < 2:
            continue
        label = re.sub(r"\s+", "", _clean(row[0]))
        value_line = row_start_lines[n] + row[0].count("\n") + 1 if n < len(row_start_lines) else first_line
        cells[label] = ("\n".join(row[1:]), value_line)

    def get(label: str) -> str:
        return cells.get(label, ("", 0))[0].strip()

    outputs, out_line = cells.get("项目主要活动和基本产出", ("", first_line))
    clauses, notes = split_clauses(outputs, out_line)
    funding_text = next((v for k, (v, _) in cells.items() if k.startswith("项目最高资助资金")), "")
    m = re.search(r"\d+(?:\.\d+)?", funding_text)
    funding = float(m.group()) if m else None
    period_text = get("项目周期")
    return ReleaseProject(
        code=code, name=re.sub(r"\s+", "", _clean(get("项目名称"))), category_text=get("项目类别"),
        header_name=header_name, header_funding_wan=header_wan, funding_wan=funding,
        summary=get("项目简介和目标"), target_groups=get("主要服务对象"), service_scale=get("服务人数/人次"),
        area_text=get("项目实施区域"), period_text=period_text, period=parse_period(period_text),
        eligibility=get("申报项目基本条件"), clauses=clauses, line=0, notes=notes,
    )


def _project_issues(code: str, p: ReleaseProject, summary_name: str | None) -> list[str]:
    out: list[str] = []
    if "桐庐区" in p.area_text or (p.header_name and "桐庐区" in p.header_name):
        out.append(f"{code}：实施区域写作“桐庐区”，桐庐应为“县”（桐庐县）")
    if "2025年3月31日前已取得" in p.eligibility:
        out.append(f"{code}：申报条件写“2025年3月31日前已取得……登记证书”，其他项目均为2024年3月31日")
    candidates = [n for n in (summary_name or "").split("|") if n]
    own = _norm_name(p.name)
    # Group rows give the shared part of a name ("…项目" then "（临安区）"): a part of the name agrees.
    if candidates and not any(_norm_name(n) in own or own in _norm_name(n) for n in candidates):
        out.append(f"{code}：汇总表中的项目名称“{candidates[0]}”与发布表中的“{p.name}”不一致")
    if p.header_funding_wan is not None and p.funding_wan is not None and p.header_funding_wan != p.funding_wan:
        out.append(f"{code}：标题中的资助金额 {p.header_funding_wan:g} 万元与表内 {p.funding_wan:g} 万元不一致")
    if p.period is None:
        out.append(f"{code}：无法识别项目周期“{p.period_text}”")
    out.extend(f"{code}：{n}" for n in p.notes)
    for c in p.clauses:
        if "\n" in c.text and re.search(r"（\d+）", c.text):
            out.append(f"{code}：第{c.number}条内嵌（1）（2）等子项")
            break
    return out


def _norm_name(s: str) -> str:
    return re.sub(r"\s+", "", s).replace("(", "（").replace(")", "）")


def _code_gaps(codes: list[str]) -> list[str]:
    out: list[str] = []
    groups: dict[str, list[str]] = {}
    for c in codes:
        if len(c) == 9:
            groups.setdefault(c[:8], []).append(c[8])
    for g, letters in sorted(groups.items()):
        for a, b in itertools.pairwise(letters):
            for missing in range(ord(a) + 1, ord(b)):
                out.append(f"{g}{chr(missing)}：编号缺失（{g}{a} 之后直接是 {g}{b}）")
    return out


_CACHE: dict[tuple[Path, float, str], ReleaseTables] = {}


def _default_programme() -> Programme:
    from tracker.config import REPO_DIR, specs_dir

    for root in (specs_dir(), REPO_DIR / "kpi_specs"):
        if (root / "2024" / PROGRAMME_FILE).is_file():
            return programme_at(root / "2024" / PROGRAMME_FILE)
    raise TrackerError("找不到2024年杭州市公益创投的计划文件 kpi_specs/2024/programme.yaml："
                       "请在运行目录下放置 kpi_specs/，或用环境变量 TRACKER_SPECS 指明规格目录")


def read_table(path: Path, fmt: str = "auto", programme: Programme | None = None) -> ReleaseTables:
    """One release table in the given format (cached by path and modification time)."""
    key = (path.resolve(), path.stat().st_mtime if path.exists() else 0.0, fmt)
    if key not in _CACHE:
        if fmt == "hangzhou-2024":
            _CACHE[key] = parse_release_tables(path, programme)
        else:
            from tracker.kpispec.release_generic import parse_generic_table

            _CACHE[key] = parse_generic_table(path, programme)
    return _CACHE[key]


def programme_tables(programme: Programme) -> ReleaseTables | None:
    """Every release table of a programme, merged; None when the programme has none."""
    refs = programme.release_table_paths()
    if not refs:
        return None
    merged = ReleaseTables({}, {}, [])
    for path, fmt in refs:
        if not path.exists():
            raise TrackerError(f"计划 {programme.title} 的发布表 {path} 不存在（见 {programme.path}）")
        t = read_table(path, fmt, programme)
        merged.projects.update(t.projects)
        merged.summary_names.update(t.summary_names)
        merged.issues.extend(t.issues)
    return merged


def release_tables(path: Path | None = None) -> ReleaseTables:
    """The 2024 Hangzhou release tables (or the table at ``path`` in that layout)."""
    from tracker.config import release_table_path

    return read_table(path or release_table_path(), "hangzhou-2024")
