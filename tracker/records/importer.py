"""Importing records: one path for files (``import_file``) and for rows (``import_rows``).

All-or-nothing by default: one transaction, rolled back if any row is invalid (``skip_invalid``
imports the valid rows; ``dry_run`` checks everything and writes nothing). Rows are checked a chunk
at a time (``tracker.records.pipeline``, in a worker process for a large file); keys that may repeat
a stored row are looked up per chunk in SQL, and new rows go in with multi-row INSERTs (SQLite)
or ``COPY`` (PostgreSQL) per chunk (``tracker.records.insert``): no ORM object per row.

Identity: every row gets a ``dedupe_key``, the fingerprint of its ``record_id`` (记录编号; for the
roster the 服务对象编号, for staff the 工作人员编号) or else of its kind's natural key
(``KindDef.identity``), and a ``content_key``, the fingerprint of everything it says. A stored
identity with the same content is unchanged; with other content the row amends the record
(``tracker.records.ledger``), so re-importing a ledger, or a corrected copy of it, writes only the
difference.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tracker import audit
from tracker.audit import rows as _rows
from tracker.db.models import IDENTITY_ORDER, ImportBatch, Person, utcnow
from tracker.errors import TrackerError
from tracker.evaluation import locks
from tracker.limits import limit
from tracker.records import staging
from tracker.records.columns import (
    DATE,
    ID_NUMBER,
    IGNORED_HEADERS,
    KINDS,
    PROJECT_HEADERS,
    KindDef,
    detect_kind,
    known_header,
    match_headers,
    norm_header,
    resolve_kind,
    suggest,
)
from tracker.records.errorfile import ERROR_HEADER, ROW_HEADER, ErrorWriter, default_error_path
from tracker.records.insert import KeySet, Packer, Writer, current_by_identity
from tracker.records.ledger import LedgerDiff, Sync
from tracker.records.pipeline import Chunk, Job, prepare_chunk, worker_chunks
from tracker.records.privacy import id_key
from tracker.records.reader import ROW_SPAN, Sheet, Source, cell_text, mark_rows, open_source
from tracker.records.scrub import scrub_message
from tracker.records.validate import PROJECT_COL, Context, duplicate_message
from tracker.records.visibility import visible

if TYPE_CHECKING:
    from tracker.workspace import Workspace

MAX_KEPT_ERRORS = 10_000

Progress = Callable[[int, int | None], None]  # (rows done, rows expected); done == expected at the end


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str
    sheet: str | None = None  # the worksheet, when the import read several

    def __str__(self) -> str:
        where = f"工作表“{self.sheet}”第{self.row}行" if self.sheet else f"第{self.row}行"
        return f"{where} [{self.column}] {self.message}"


@dataclass
class SheetReport:
    """One worksheet of the workbook: read (with its counts) or skipped (with the reason)."""

    name: str
    header_row: int | None = None
    rows: int = 0  # data rows read (footer rows not counted)
    new: int = 0
    unchanged: int = 0
    changed: int = 0
    invalid: int = 0
    footers: list[int] = field(default_factory=list)  # rows skipped as the table's footer (合计, 制表人 …)
    hidden: list[int] = field(default_factory=list)  # rows hidden in Excel (imported)
    struck: list[int] = field(default_factory=list)  # rows with struck-through cells (imported)
    skipped: str | None = None  # why the sheet was not read

    def line(self) -> str:
        if self.skipped:
            return f"工作表“{self.name}”未导入：{self.skipped}"
        s = (f"工作表“{self.name}”（表头在第{self.header_row}行）：{self.rows} 行，新增 {self.new} 条，"
             f"未变化 {self.unchanged} 条")
        if self.changed:
            s += f"，更改 {self.changed} 条"
        if self.invalid:
            s += f"，无效 {self.invalid} 行"
        if self.footers:
            s += f"；跳过表尾的合计、签字等行 {len(self.footers)} 行（第{_rows_text(self.footers)}行）"
        if self.hidden:
            s += f"；其中隐藏的行 {len(self.hidden)} 行已导入（第{_rows_text(self.hidden)}行），如不应计入请删除后重新导入"
        if self.struck:
            s += (f"；其中有删除线的行 {len(self.struck)} 行已导入（第{_rows_text(self.struck)}行），"
                  "删除线不代表作废：如不应计入请删除该行后重新导入")
        return s


def _rows_text(rows: list[int], most: int = 8) -> str:
    return "、".join(str(r) for r in rows[:most]) + ("……" if len(rows) > most else "")


@dataclass
class ImportResult:
    kind: str
    imported: int = 0
    unchanged: int = 0
    invalid: list[RowError] = field(default_factory=list)
    invalid_rows: int = 0
    rows_total: int = 0
    batch_id: int | None = None
    error_file: Path | None = None
    dry_run: bool = False
    committed: bool = False
    valid_rows: int = 0  # rows that passed every check (imported or unchanged)
    messages: dict[int, str] = field(default_factory=dict, repr=False)  # row → 错误说明 (for the error file)
    changed: int = 0  # rows whose record was stored before with other content: amended by this batch
    corrected_earlier: int = 0  # rows whose record a person voided or amended before: left corrected
    diff: LedgerDiff = field(default_factory=LedgerDiff)
    ledger: str | None = None
    sheets: list[SheetReport] = field(default_factory=list)  # XLSX: every sheet, read or skipped
    per_sheet: dict[int, SheetReport] = field(default_factory=dict, repr=False)  # counts by sheet index
    footer_rows: int = 0  # rows skipped as a table's footer (合计, 小计, 制表人 …), all sheets
    understood: list[str] = field(default_factory=list)  # what the import read the file as (Chinese lines)
    error_cap: int = 0  # the error file lists at most this many rows with errors (``TRACKER_MAX_ERROR_ROWS``)

    @property
    def unlisted_errors(self) -> int:
        """Rows with errors beyond the error file's cap (not listed in it)."""
        return max(self.invalid_rows - len(self.messages), 0) if self.invalid_rows > self.error_cap else 0

    @property
    def disappeared(self) -> int:
        return self.diff.disappeared

    @property
    def retired(self) -> int:
        return self.diff.retired

    def sheet_lines(self) -> list[str]:
        """One Chinese line per worksheet (read, with its counts, or skipped, with the reason); none
        for a CSV file or a workbook of one sheet without footer, hidden or struck rows."""
        read = [r for r in self.sheets if not r.skipped]
        if len(self.sheets) <= 1 and not any(r.footers or r.hidden or r.struck for r in read):
            return []
        return [r.line() for r in self.sheets]

    def summary(self) -> str:
        s = f"新增 {self.imported} 条，未变化 {self.unchanged} 条，无效 {self.invalid_rows} 条"
        if self.footer_rows:
            s += f"，跳过表尾的合计、签字等行 {self.footer_rows} 行"
        if self.changed:
            s += f"，更改 {self.changed} 条（原记录保留在历史中，更正原因为本次导入）"
        if self.corrected_earlier:
            s += f"，识别为此前已更正或作废的行 {self.corrected_earlier} 条（保持更正后的状态）"
        if self.diff.disappeared:
            if self.diff.retired:
                s += f"，台账中已删除的记录 {self.diff.retired} 条已退回"
            else:
                s += (f"，台账中已没有的记录 {self.diff.disappeared} 条（仍计入指标；"
                      "确认删除请加 --sync 重新导入，由本次导入退回）")
        if self.unlisted_errors:
            s += (f"；错误文件只列出前 {len(self.messages):,} 行有错误的行，另有 {self.unlisted_errors:,} 行有错误未列出"
                  "（错误这么多，多半是选错了文件或表头不对：请先核对）")
        if self.dry_run:
            s += "（试运行，未写入数据库）"
        elif self.invalid_rows and not self.committed:
            s += "（因存在无效行，未导入任何记录；修正后重新导入，或使用 --skip-invalid 只导入有效行）"
        return s


# ------------------------------------------------------------------ column mapping


@dataclass
class Layout:
    kd: KindDef
    positions: dict[int, str]  # position → column key | PROJECT_COL | attribute header
    attr_cols: list[str]
    ignored: set[int]
    error_col: int | None


def _near_kind(headers: list[str], guess: str) -> tuple[str, list[tuple[str, str]]] | None:
    """Another kind the headers would fit if near misses were meant as its columns (调查日期 as a
    survey's 日期): (that kind, [(header, column label)]); None when the guess is the only fit."""
    unknown = [i for i, h in enumerate(headers) if h.strip() and not known_header(h)]
    if not unknown:
        return None
    for kd in KINDS.values():
        if kd.kind == guess:
            continue
        matched = match_headers(kd, headers)
        have = set(matched.values())
        near: list[tuple[str, str]] = []
        for i in unknown:
            h = headers[i]
            label = suggest(kd, h)
            col = next((c for c in kd.required if c.label == label), None)
            if col is not None and col.key not in have:
                have.add(col.key)
                near.append((h.strip(), col.label))
        if near and all(c.key in have for c in kd.required) and (
                not kd.detect_any or any(k in have for k in kd.detect_any)):
            return kd.kind, near
    return None


def _layout(headers: list[str], kind: str | None, project: str, what: str, *, detected: bool = False) -> Layout:
    """The column mapping of ``headers`` for ``kind`` (None, or ``detected``: the kind the headers
    suggest; refused when another kind fits as well once near-miss names are read as its columns)."""
    if not any(h.strip() for h in headers):
        raise TrackerError(f"{what} 没有表头：第一行应为列名（如 日期、活动类型、服务对象编号）")
    guess, candidates = detect_kind(headers)
    if kind is None or detected:
        near = _near_kind(headers, kind or guess) if (kind or guess) else None
        if near is not None:
            other, pairs = near
            g = kind or guess
            said = "、".join(f"“{h}”像是“{label}”" for h, label in pairs)
            raise TrackerError(
                f"无法确定 {what} 的记录类型：按表头是“{KINDS[g].label}”，但{said}，那样就是“{KINDS[other].label}”。"
                f"请用 --kind 指定：--kind {other}（{KINDS[other].label}，并把表头改为 "
                f"{'、'.join(label for _, label in pairs)}）或 --kind {g}（{KINDS[g].label}）")
    if kind is None:
        if guess is None:
            if candidates:
                names = "、".join(f"{k}（{KINDS[k].label}）" for k in candidates)
                raise TrackerError(f"无法从表头判断记录类型（可能是 {names}）：请用 --kind 指定")
            raise TrackerError(
                f"无法从表头判断记录类型：{what} 的表头中没有一种记录的全部必填列。"
                "请使用 tracker template 生成的模板，或用 --kind 指定类型")
        kind = guess
    kd = KINDS[resolve_kind(kind)]
    matched = match_headers(kd, headers)
    missing = [c.label for c in kd.required if c.key not in matched.values()]
    if missing:
        hint = ""
        near_miss = [(h.strip(), suggest(kd, h)) for i, h in enumerate(headers) if i not in matched and h.strip()]
        near_miss = [(h, s_) for h, s_ in near_miss if s_ in missing]
        near_miss = [(h, s_) for h, s_ in near_miss if not known_header(h)]  # 调查日期, not another kind's 建档日期
        if near_miss:
            hint = "；" + "、".join(f"列“{h}”是否就是“{s_}”？请把表头改为“{s_}”" for h, s_ in near_miss)
        elif guess and guess != kd.kind:
            hint = f"；该文件看起来是“{KINDS[guess].label}”，请使用 --kind {guess}"
        raise TrackerError(f"{what} 不是“{kd.label}”文件：缺少必填列 {'、'.join(missing)}{hint}")
    positions: dict[int, str] = dict(matched)
    attr_cols: list[str] = []
    ignored: set[int] = set()
    error_col = None
    proj_norm = {norm_header(h) for h in PROJECT_HEADERS}
    ign_norm = {norm_header(h) for h in IGNORED_HEADERS}
    for i, h in enumerate(headers):
        if i in positions:
            continue
        n = norm_header(h)
        if n in proj_norm:
            positions[i] = PROJECT_COL
        elif n in ign_norm:
            ignored.add(i)
            if n == norm_header("错误说明"):
                error_col = i
        else:
            name = h.strip() or f"第{i + 1}列"
            while name in attr_cols:
                name += "_"
            positions[i] = name
            attr_cols.append(name)
    return Layout(kd, positions, attr_cols, ignored, error_col)


# ------------------------------------------------------------------ which sheets


def sheet_names(sheet: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """``--sheet`` values: repeated, or a comma list (，、 too)."""
    if sheet is None:
        return []
    items = [sheet] if isinstance(sheet, str) else list(sheet)
    out: list[str] = []
    for it in items:
        for part in str(it).replace("，", ",").replace("、", ",").split(","):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return out


def _pick_sheets(src: Source, kind: str | None, wanted: list[str], path: Path) -> tuple[str | None, list[SheetReport]]:
    """Choose the sheets of a workbook to read: every visible sheet whose header has all required
    columns of the record kind (``kind``, else the kind the first recognisable sheet has), or the
    sheets named in ``wanted``. Returns (kind, a report per sheet: skipped ones with the reason)."""
    from tracker.text import did_you_mean

    if src.fmt != "xlsx":
        if wanted:
            raise TrackerError(f"{path.name} 是 CSV 文件，没有工作表：请去掉 --sheet")
        return kind, []
    cands = src.candidates
    by_name = {sh.name: sh for sh in cands}
    if wanted:
        for w in wanted:
            if w not in by_name:
                hint = did_you_mean(w, [*by_name, *src.hidden_sheets])
                if w in src.hidden_sheets:
                    raise TrackerError(f"工作表“{w}”在 {path.name} 中是隐藏的：请在 Excel 中取消隐藏后再导入")
                raise TrackerError(f"{path.name} 中没有工作表“{w}”{hint}；工作表有：{'、'.join(by_name) or '（无）'}")
        pool = [by_name[w] for w in wanted]
    else:
        pool = list(cands)
    guesses = {sh.name: detect_kind(sh.headers) for sh in pool}
    if kind is None:
        for sh in pool:
            g, _ = guesses[sh.name]
            if g is not None:
                kind = g
                break
    reports: list[SheetReport] = []
    chosen: list[Sheet] = []
    if kind is None:  # nothing recognisable: _layout says why, about the first sheet
        src.use(pool[:1])
        return None, [SheetReport(sh.name, sh.header_row) for sh in pool[:1]]
    kd = KINDS[resolve_kind(kind)]
    for sh in pool:
        matched = match_headers(kd, sh.headers)
        missing = [c.label for c in kd.required if c.key not in matched.values()]
        g, _ = guesses[sh.name]
        rep = SheetReport(sh.name, sh.header_row)
        if not missing:
            chosen.append(sh)
        elif wanted:
            hint = f"；该工作表看起来是“{KINDS[g].label}”，请使用 --kind {g}" if g and g != kd.kind else ""
            raise TrackerError(f"工作表“{sh.name}”不是“{kd.label}”：缺少必填列 {'、'.join(missing)}{hint}")
        elif not any(c and known_header(c) for c in sh.headers):
            rep.skipped = "表头中没有可识别的列（不是记录表，如统计表或说明）"
        elif g and g != kd.kind:
            rep.skipped = (f"看起来是“{KINDS[g].label}”，不是本次导入的“{kd.label}”："
                           f"请单独导入（--kind {g} --sheet {sh.name}）")
        else:
            rep.skipped = f"缺少“{kd.label}”的必填列 {'、'.join(missing)}"
        reports.append(rep)
    for name in src.hidden_sheets:
        reports.append(SheetReport(name, skipped="隐藏的工作表（如需导入，请在 Excel 中取消隐藏）"))
    if not chosen:  # _layout names the missing columns of the first sheet
        src.use(pool[:1])
        return kind, []
    src.use(chosen)
    if src.engine == "calamine":
        mark_rows(src)
    return kind, reports


# ------------------------------------------------------------------ public functions


def import_file(ws: Workspace, path: Path | str, project: str, kind: str | None = None, *, dry_run: bool = False,
                skip_invalid: bool = False, entered_by: str = "operator", error_file: Path | None = None,
                progress: Progress | None = None, chunk_size: int = 50_000,
                parallel: bool | None = None, ledger: str | None = None, sync: bool = False,
                sheet: str | list[str] | None = None) -> ImportResult:
    """Import one CSV or XLSX file of one kind of record into ``project``.

    A workbook: every visible sheet whose header has the kind's required columns is read (a ledger
    kept one sheet per month), or only the sheets named in ``sheet``; the others are reported with
    the reason (``ImportResult.sheets``). Footer rows (合计, 小计, 制表人, 审核人 …) are skipped and
    counted; hidden and struck-through rows are imported and listed.

    A file imported before (the same ledger: named by ``ledger``, else recognised by its rows) is
    compared with what is stored (``ImportResult.diff``): new rows are added, changed rows amend
    their record, rows voided or amended by a person stay corrected, and records no longer in the
    file are reported (``sync=True`` retires them).

    ``parallel`` (default: when the file has more than one chunk and the machine more than one
    core): read and check the file in a worker process while this one writes."""
    path = Path(path)
    ws.spec(project)  # an unknown project fails before the file is read
    src: Source = open_source(path)
    given = kind is not None
    kind, reports = _pick_sheets(src, kind, sheet_names(sheet), path)
    many = src.fmt == "xlsx" and len(src.candidates) > 1
    lay = _layout(src.headers, kind, project, f"文件 {path.name}" if not many
                  else f"文件 {path.name}（工作表 {'、'.join(sh.name for sh in src.sheets)}）", detected=not given)
    if parallel is None:
        parallel = (os.cpu_count() or 1) > 1 and (src.total_rows or 0) > chunk_size

    def chunks(ctx: Context, packer: Packer) -> Iterator[Chunk]:
        if parallel:
            job = Job(src, lay.positions, ctx, lay.kd.model, packer.dialect_name, packer.constant, chunk_size)
            yield from worker_chunks(job)
        else:
            for raw, rows in src.chunks(chunk_size):
                yield prepare_chunk(raw, rows, lay.positions, ctx, packer)

    result = _run(ws, project, lay, chunks, source_file=path.name, sha=src.sha256, dry_run=dry_run,
                  skip_invalid=skip_invalid, entered_by=entered_by, progress=progress, total=src.total_rows,
                  ledger=ledger, sync=sync, sheet=src.sheet, source=src)
    result.sheets = _sheet_reports(src, result, reports)
    result.understood = understood(lay, src.headers, src, given=given)
    if result.invalid_rows:
        # a second pass over the file: the input rows as written, with 原行号 and 错误说明 added
        writer = _writer(error_file or default_error_path(path, src.fmt), src.headers, lay)
        many = len(src.sheets) > 1
        try:
            _write_errors(writer, result, ((raw.to_numpy(dtype=object).tolist(), rows.tolist(),
                                            [src.row_label(int(r)) for r in rows] if many else rows.tolist())
                                           for raw, rows in src.chunks(chunk_size)))
        except BaseException:
            writer.close(keep=False)
            raise
        result.error_file = writer.close(keep=True)
    return result


def _write_errors(writer: ErrorWriter, result: ImportResult,
                  parts: Iterator[tuple[list[list[Any]], list[int], list[Any]]]) -> None:
    """Every input row with its 错误说明 (``parts``: cells, row keys, 原行号 as shown); past the cap
    (more rows with errors than ``TRACKER_MAX_ERROR_ROWS``) only the first rows with errors, then one
    line with the count of the others."""
    msgs = result.messages
    if not result.unlisted_errors:
        for cells, keys, labels in parts:
            writer.write(cells, [msgs.get(int(r), "") for r in keys], labels)
        return
    left = len(msgs)
    for cells, keys, labels in parts:
        keep = [k for k, r in enumerate(keys) if int(r) in msgs]
        if keep:
            writer.write([cells[k] for k in keep], [msgs[int(keys[k])] for k in keep], [labels[k] for k in keep])
            left -= len(keep)
        if left <= 0:
            break
    writer.note(f"另有 {result.unlisted_errors:,} 行有错误，未列出：错误文件最多列出前 {len(msgs):,} 行有错误的行"
                "（上限 TRACKER_MAX_ERROR_ROWS）。错误这么多，多半是选错了文件或表头不对，请先核对后重新导入")


def understood(lay: Layout, headers: list[str], src: Source | None, *, given: bool) -> list[str]:
    """What the import read the file as, in Chinese: the record kind, the sheet(s) and header row,
    the columns mapped to each field, the columns kept as extra attributes (with a "did you mean"
    for near misses) and the columns not read."""
    kd = lay.kd
    out = [f"记录类型：{kd.label}" + ("（按 --kind 指定）" if given else "（按表头判断；如不对，请用 --kind 指定）")]
    if src is not None and src.fmt == "xlsx":
        if len(src.sheets) > 1:
            rows = sorted({sh.header_row for sh in src.sheets})
            out.append(f"读取工作表 {len(src.sheets)} 个：{'、'.join(sh.name for sh in src.sheets)}；表头在第"
                       f"{'、'.join(str(r) for r in rows)}行")
        else:
            out.append(f"工作表“{src.sheet}”，表头在第{src.header_row}行")
    elif src is not None:
        out.append(f"表头在第{src.header_row}行")
    mapped: list[str] = []
    labels: set[str] = set()
    for i, key in sorted(lay.positions.items()):
        if key in lay.attr_cols or key == PROJECT_COL:
            continue
        label = kd.col(key).label
        labels.add(label)
        h = headers[i].strip()
        mapped.append(label if norm_header(h) == norm_header(label) else f"{label}（列“{h}”）")
    out.append("识别的列：" + "、".join(mapped))
    if lay.attr_cols:
        extra = []
        for a in lay.attr_cols:
            s_ = suggest(kd, a)
            extra.append(f"{a}（是否想写“{s_}”？）" if s_ and s_ not in labels else a)
        out.append("未识别、作为附加信息保存的列：" + "、".join(extra)
                   + ("；如是拼写不同，请把表头改为建议的列名后重新导入" if any("是否想写" in x for x in extra) else ""))
    skipped = [headers[i].strip() for i in sorted(lay.ignored) if headers[i].strip()]
    if skipped:
        out.append("不读取的列：" + "、".join(skipped))
    return out


def _sheet_reports(src: Source, result: ImportResult, skipped: list[SheetReport]) -> list[SheetReport]:
    """The sheets read, with their counts and marked rows, then the sheets skipped."""
    if src.fmt != "xlsx":
        return []
    out = []
    for k, sh in enumerate(src.sheets or []):
        rep = result.per_sheet.get(k) or SheetReport(sh.name, sh.header_row)
        rep.name, rep.header_row = sh.name, sh.header_row
        rep.hidden, rep.struck = list(sh.hidden), list(sh.struck)
        out.append(rep)
    return out + [r for r in skipped if r.skipped]


def _writer(path: Path, headers: list[str], lay: Layout) -> ErrorWriter:
    """The error file keeps the input's cells as they are (unmasked: the user corrects them); an error
    file imported again reuses its own columns."""
    dates = {c.key for c in lay.kd.columns if c.type == DATE}
    date_cols = {i for i, k in lay.positions.items() if k in dates}
    own = {norm_header(ERROR_HEADER): ERROR_HEADER, norm_header(ROW_HEADER): ROW_HEADER}
    replace = {own[norm_header(h)]: i for i, h in enumerate(headers) if norm_header(h) in own}
    return ErrorWriter(path, headers, date_cols=date_cols, replace_cols=replace)


def import_rows(ws: Workspace, project: str, kind: str, rows: pd.DataFrame | list[dict[str, Any]], *, source_name: str,
                dry_run: bool = False, skip_invalid: bool = False, entered_by: str = "operator",
                error_file: Path | None = None, chunk_size: int = 50_000, ledger: str | None = None,
                sync: bool = False) -> ImportResult:
    """The same checks and insertion for rows that are not in a file (keys or Chinese labels as
    column names; values as text, numbers, dates or None). Row N is the N-th row (1-based)."""
    ws.spec(project)
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    headers = [str(c) for c in df.columns]
    if df.empty:
        raise TrackerError(f"{source_name}：没有要导入的记录")
    lay = _layout(headers, kind, project, source_name)
    sha = hashlib.sha256()

    def cells_of(part: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({i: [cell_text(v) for v in part.iloc[:, i].tolist()] for i in range(len(headers))},
                            dtype=object)

    def chunks(ctx: Context, packer: Packer) -> Iterator[Chunk]:
        for start in range(0, len(df), chunk_size):
            cells = cells_of(df.iloc[start:start + chunk_size])
            sha.update(pd.util.hash_pandas_object(cells, index=False).to_numpy().tobytes())
            yield prepare_chunk(cells, np.arange(start + 1, start + 1 + len(cells)), lay.positions, ctx, packer)

    result = _run(ws, project, lay, chunks, source_file=source_name, sha=None, dry_run=dry_run,
                  skip_invalid=skip_invalid, entered_by=entered_by, progress=None, total=len(df), sha_obj=sha,
                  ledger=ledger, sync=sync, track_ledger=False)
    if error_file is not None and result.invalid_rows:
        writer = _writer(error_file, headers, lay)
        try:
            _write_errors(writer, result, ((cells_of(df.iloc[s:s + chunk_size]).to_numpy(dtype=object).tolist(),
                                            list(range(s + 1, s + 1 + len(df.iloc[s:s + chunk_size]))),
                                            list(range(s + 1, s + 1 + len(df.iloc[s:s + chunk_size]))))
                                           for s in range(0, len(df), chunk_size)))
        except BaseException:
            writer.close(keep=False)
            raise
        result.error_file = writer.close(keep=True)
    return result


# ------------------------------------------------------------------ the shared path


def _roster(conn: Any, project: str) -> dict[str, str | None]:
    t = Person.__table__
    q = select(t.c.person_id, t.c.population).where(t.c.project_code == project, visible(t))
    return {pid: pop for pid, pop in conn.execute(q)}


class _Store:
    """Writes checked chunks of one import; finds repeats of what the database already holds.

    A row whose content (dedupe key) is already current is unchanged; one this import already wrote
    is a duplicate (an error naming the first row); a record id already used by different content
    is an error. When the project has current rows of this kind, every key is looked up in the
    database. When it has none, only keys this import wrote can repeat: those are kept in memory
    (``KeySet``, 8 bytes a key) and only a possible repeat is looked up. (Reading a large project's
    keys into memory first was tried: it cost more than the lookups it saved.)"""

    def __init__(self, conn: Any, project: str, writer: Writer, result: ImportResult, bid: int, sync: Sync,
                 kd: KindDef, now: Any, reason: str, author: str, sheet_names: list[str] | None = None,
                 retired_writer: Writer | None = None):
        self.conn, self.project, self.writer, self.result, self.bid = conn, project, writer, result, bid
        self.sheet_names = list(sheet_names or [])
        self.multi = len(self.sheet_names) > 1
        self.sync, self.kd, self.now, self.reason, self.author = sync, kd, now, reason, author
        self.retired_writer = retired_writer  # staged: writes the new versions of changed rows, retired
        self.table = writer.table
        t = self.table
        q = select(t.c.id).where(t.c.project_code == project, t.c.retired_at.is_(None)).limit(1)
        self.lookup_all = conn.execute(q).first() is not None
        self.keys = KeySet()

    def _hits(self, ch: Chunk) -> dict[str, tuple[Any, ...]]:
        """The stored current rows with the identities of the chunk's valid rows (when the project
        has none yet, only of the rows this import may already have written)."""
        if not ch.dedupe:
            return {}
        js: Any = range(len(ch.dedupe))
        if not self.lookup_all:
            js = np.flatnonzero(self.keys.contains(ch.dedupe_ints)).tolist()
            if not js:
                return {}
        lead = IDENTITY_ORDER.get(self.table.name)
        at = ch.bound.index(lead) if lead in ch.bound else None
        return current_by_identity(self.conn, self.table, self.project, [ch.dedupe[j] for j in js],
                                   [ch.values[j][at] if at is not None else None for j in js],
                                   [ch.record_id[j] for j in js])

    def _foreign_staging(self, seen: dict[str, tuple[Any, ...]]) -> None:
        """A stored row of another import that is not published yet: its fate is not known."""
        others = {int(h[1]) for h in seen.values() if h[1] is not None and h[1] != self.bid}
        if not others:
            return
        b = ImportBatch.__table__
        q = select(b.c.id).where(b.c.id.in_(sorted(others)), b.c.published_at.is_(None)).limit(1)
        busy = self.conn.execute(q).scalar()
        if busy is not None:
            raise TrackerError(f"导入批次 {busy} 正在导入同样的记录（尚未完成），未写入任何记录：请稍后重试"
                               "（等那次导入完成后再导入本文件）")

    def write(self, ch: Chunk) -> None:
        result, bid, errors, sync = self.result, self.bid, ch.errors, self.sync
        dk_ints = ch.dedupe_ints
        seen = self._hits(ch)
        if seen:
            self._foreign_staging(seen)
        staged_keys = sync.staged_keys
        unchanged = corrected = 0
        changed: list[tuple[int, tuple[Any, ...], int]] = []  # (index, stored hit, file row)
        unchanged_js: list[int] = []
        corrected_js: list[int] = []
        hits = [seen.get(k) for k in ch.dedupe] if seen else [None] * len(ch.dedupe)
        if not seen and not sync.has_corrections:  # the usual case for new rows: nothing to sort out row by row
            fresh = list(range(len(ch.dedupe)))  # indexes into the chunk's valid rows
        elif not staged_keys and len(seen) == len(ch.dedupe) and all(
                h[1] != bid and h[3] == c for h, c in zip(hits, ch.content, strict=True)):  # type: ignore[index]
            # the usual case for a ledger imported again: every row stored as it is
            fresh = []
            unchanged = len(hits)
            unchanged_js = list(range(unchanged))
            sync.remember_all(hits)  # type: ignore[arg-type]
        else:
            fresh = []
            remembered = []
            for j, key in enumerate(ch.dedupe):
                hit = hits[j]
                if hit is not None and key in staged_keys:  # changed earlier in this (staged) import
                    first, content = staged_keys[key]
                    errors.setdefault(ch.valid[j], []).append(duplicate_message(
                        self.kd, ch.record_id[j], content == ch.content[j], first, ch.rid_label))
                elif hit is None:
                    fresh.append(j)
                elif hit[1] == bid:
                    errors.setdefault(ch.valid[j], []).append(duplicate_message(
                        self.kd, ch.record_id[j], hit[3] == ch.content[j], int(hit[2]), ch.rid_label))
                elif hit[3] == ch.content[j]:
                    unchanged += 1
                    unchanged_js.append(j)
                    remembered.append(hit)
                else:
                    changed.append((j, hit, int(ch.rows[ch.valid[j]])))
            sync.remember_all(remembered)
            if sync.has_corrections and (fresh or changed):
                voided, pairs = sync.earlier([ch.dedupe[j] for j in fresh] + [ch.dedupe[j] for j, _, _ in changed])
                if voided or pairs:
                    keep = []
                    for j in fresh:
                        if ch.dedupe[j] in voided or (ch.dedupe[j], ch.content[j]) in pairs:
                            corrected += 1
                            corrected_js.append(j)
                        else:
                            keep.append(j)
                    fresh = keep
                    still = []
                    for c in changed:
                        j, hit, _ = c
                        if (ch.dedupe[j], ch.content[j]) in pairs:
                            corrected += 1
                            corrected_js.append(j)
                            sync.remember(hit)
                        else:
                            still.append(c)
                    changed = still
        if changed:
            sync.amend_changed(changed, ch.bound, ch.values, self.now, self.reason, self.author)
        rows = fresh + [j for j, _, _ in changed]
        if len(sync.diff.new_rows) < 500:
            for j in fresh[:500]:
                sync.note_new(int(ch.rows[ch.valid[j]]), ch.bound, ch.values[j])
        after = 0
        if changed:  # the new versions get ids above this
            after = int(self.conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {self.table.name}").scalar_one())
        if changed and self.retired_writer is not None:
            self.writer.insert(ch.bound, [ch.values[j] for j in fresh])
            self.retired_writer.insert(ch.bound, [ch.values[j] for j, _, _ in changed])
            sync.stage_changed(ch.dedupe, ch.content, after)
        else:
            self.writer.insert(ch.bound, ch.values if len(rows) == len(ch.values) else [ch.values[j] for j in rows])
            if changed:
                sync.link_changed(ch.dedupe, after)
        if not self.lookup_all:
            self.keys.add(dk_ints[rows])

        result.imported += len(fresh)
        result.changed += len(changed)
        result.unchanged += unchanged
        result.corrected_earlier += corrected
        result.invalid_rows += len(errors)
        for i in sorted(errors):  # messages added here (duplicates quote a 记录编号): scrubbed like the others
            errors[i] = [(col, scrub_message(msg)) for col, msg in errors[i]]
            for col, msg in errors[i]:
                if len(result.invalid) < MAX_KEPT_ERRORS:
                    k, row = divmod(int(ch.rows[i]), ROW_SPAN)
                    result.invalid.append(RowError(row, col, msg, self.sheet_names[k] if self.multi else None))
        cap = result.error_cap
        for i in sorted(errors):  # the first ``cap`` rows with errors, in file order, for the error file
            if len(result.messages) >= cap:
                break
            result.messages[int(ch.rows[i])] = "；".join(f"[{c}] {m}" for c, m in errors[i])
        self._per_sheet(ch, fresh, changed, unchanged_js, corrected_js, errors)

    def _per_sheet(self, ch: Chunk, fresh: list[int], changed: list[tuple[int, tuple[Any, ...], int]],
                   unchanged: list[int], corrected: list[int], errors: dict[int, Any]) -> None:
        """Counts per worksheet (one sheet: the chunk's totals)."""
        per = self.result.per_sheet
        self.result.footer_rows += len(ch.footers)
        if not self.multi:
            rep = per.setdefault(0, SheetReport(self.sheet_names[0] if self.sheet_names else ""))
            rep.rows += ch.n
            rep.new += len(fresh)
            rep.changed += len(changed)
            rep.unchanged += len(unchanged)
            rep.invalid += len(errors)
            rep.footers.extend(int(r) for r in ch.footers)
            return
        names = self.sheet_names

        def rep(k: int) -> SheetReport:
            return per.setdefault(k, SheetReport(names[k] if k < len(names) else ""))

        for key in ch.footers:
            k, row = divmod(int(key), ROW_SPAN)
            rep(k).footers.append(row)
        sheet_of = (np.asarray(ch.rows) // ROW_SPAN).tolist()
        for k in sheet_of:
            rep(k).rows += 1
        for j in fresh:
            rep(sheet_of[ch.valid[j]]).new += 1
        for j, _, _ in changed:
            rep(sheet_of[ch.valid[j]]).changed += 1
        for j in unchanged:
            rep(sheet_of[ch.valid[j]]).unchanged += 1
        for i in errors:
            rep(sheet_of[i]).invalid += 1


def _staged_chunk(session: Any, conn: Any, store: _Store, ch: Chunk, bid: int, writers: tuple[Any, ...], *,
                  sqlite: bool) -> None:
    """One chunk of a staged import, in its own transaction. Before the chunk's first insert the
    heartbeat UPDATE of the batch row must find the batch still unpublished (another import may
    have cleared it away as abandoned): otherwise the import stops (``CONFLICT``).

    SQLite: that UPDATE takes the write lock, so nothing can delete the batch until the chunk
    commits, and every row of the chunk carries the same two references, this batch and the
    project (never deleted). So the chunk is inserted without SQLite's foreign-key check, which
    costs two index probes per row (about a fifth of the insert). ``PRAGMA foreign_keys`` only
    takes effect outside a transaction: it is switched off before the chunk's transaction and back
    on after its commit (or rollback)."""
    b = ImportBatch.__table__
    raw = conn.connection.driver_connection
    off = sqlite and not raw.in_transaction
    beat = [False]

    def heartbeat() -> None:
        if beat[0]:
            return
        beat[0] = True
        n = conn.execute(update(b).where(b.c.id == bid, b.c.published_at.is_(None))
                         .values(heartbeat_at=utcnow())).rowcount
        if n != 1:
            raise TrackerError(CONFLICT)

    if off:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        for w in writers:
            if w is not None:
                w.before_insert = heartbeat
        store.write(ch)
        heartbeat()  # a chunk that inserted nothing still beats
        if off:  # commit, then foreign keys on again, while the session still holds the connection
            raw.commit()
            raw.execute("PRAGMA foreign_keys=ON")
            off = False
        session.commit()
    finally:
        for w in writers:
            if w is not None:
                w.before_insert = None
        if off:  # the chunk failed: its rows go (the caller rolls the session back too)
            raw.rollback()
            raw.execute("PRAGMA foreign_keys=ON")


DEFER_MIN_ROWS = 100_000


def _defer_indexes(conn: Any, table: Any, expected: int) -> list[str]:
    """SQLite: drop the table's plain (non-unique) indexes for a large import into a table with
    fewer rows than the file, and return the statements that rebuild them before the commit.

    Building an index once over sorted rows costs less than keeping it up to date row by row. The
    drop is part of the import's transaction: a failed or abandoned import leaves them in place. The
    unique indexes, which the import's own lookups use, are never dropped."""
    if expected < DEFER_MIN_ROWS:
        return []
    top = conn.exec_driver_sql(f"SELECT max(id) FROM {table.name}").scalar() or 0  # ≥ the row count
    if top >= expected:
        return []
    unique = {name for _, name, is_unique, _, _ in conn.exec_driver_sql(f"PRAGMA index_list({table.name})")
              if is_unique}
    ddl = [(name, sql) for name, sql in conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table.name,)) if name not in unique]
    for name, _ in ddl:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _, sql in ddl]


def staging_threshold() -> int:
    """Imports of more rows than this stage them in short transactions (``TRACKER_STAGE_ROWS``)."""
    return limit("TRACKER_STAGE_ROWS")


CONFLICT = "导入时与同时进行的另一次导入冲突，未写入任何记录：请稍后重试"


def _run(ws: Workspace, project: str, lay: Layout, chunks: Callable[[Context, Packer], Iterator[Chunk]], *,
         source_file: str, sha: str | None, dry_run: bool, skip_invalid: bool, entered_by: str,
         progress: Progress | None, total: int | None, sha_obj: Any = None, ledger: str | None = None,
         sync: bool = False, track_ledger: bool = True, sheet: str | None = None,
         source: Source | None = None) -> ImportResult:
    """One import. A small one is one transaction. A large one (more than ``staging_threshold()``
    rows, or of unknown size) is staged: its batch row is committed first, unpublished; each chunk
    is then its own short transaction; the rows stay invisible (``tracker.records.visibility``) until
    one short transaction publishes the batch. A failed or interrupted staged import deletes what it
    staged; one that is killed leaves an unpublished batch that the next import clears away
    (``tracker.records.staging``). So other writers wait for one chunk at most, never for the file."""
    kd = lay.kd
    spec = ws.spec(project)
    table = kd.model.__table__
    result = ImportResult(kind=kd.kind, dry_run=dry_run, error_cap=limit("TRACKER_MAX_ERROR_ROWS"))
    staged = not dry_run and (total is None or total > staging_threshold())
    staging.clear_abandoned(ws.engine)
    now = utcnow()
    names = [sh.name for sh in source.sheets] if source is not None and source.sheets else [sheet] if sheet else []
    hash_key = id_key(ws.engine) if any(c.type == ID_NUMBER for c in kd.columns) else None  # before the write lock
    session = ws.session()
    stream: Any = None
    bid: int | None = None
    try:
        conn = session.connection()
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-131072")  # 128 MB page cache for the index pages
        # every row this import writes gets a larger id (a rowid range finds them for the audit digest)
        after_id = int(conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table.name}").scalar_one())
        batch = ImportBatch(project_code=project, kind=kd.kind, file_name=source_file, file_sha256=sha or "",
                            entered_by=entered_by, started_at=now, sheets=names)
        if staged:
            batch.owner, batch.heartbeat_at = staging.owner_token(), now
        session.add(batch)
        session.flush()
        bid = batch.id
        assert bid is not None
        if staged:
            session.commit()
            conn = session.connection()
        ctx = Context(project, spec, kd, attr_cols=lay.attr_cols, id_key=hash_key,
                      id_attr_cols={h for h in lay.attr_cols if "身份证" in h or "证件号" in h}, sheet_names=names)
        if kd.kind in ("activity", "deliverable"):
            ctx.roster = _roster(conn, project)
        constant = {"project_code": project, "entered_at": now, "entered_by": entered_by,
                    "source_file": source_file, "batch_id": bid}
        writer = Writer(conn, kd.model, constant)
        retired_writer = Writer(conn, kd.model, {**constant, "retired_at": now}) if staged else None
        reason = f"导入批次 {bid}（{source_file}）中的更改"
        syncer = Sync(conn, table, kd, project, bid, result.diff, spec, staged=staged)
        store = _Store(conn, project, writer, result, bid, syncer, kd, now, reason, entered_by, names, retired_writer)
        deferred = _defer_indexes(conn, table, total or 0) if sqlite and not dry_run and not staged else []
        done = 0
        pg = not sqlite
        analyzed = -1
        try:
            stream = chunks(ctx, writer.packer())
            for ch in stream:
                if pg and result.imported > 2 * analyzed:
                    # PostgreSQL plans the key lookups from table statistics; rows inserted by this
                    # transaction are not in them, and a stale "empty table" estimate turns every lookup
                    # into a nested scan (quadratic). ANALYZE sees this transaction's rows.
                    conn.exec_driver_sql(f"ANALYZE {table.name}")
                    analyzed = max(result.imported, 10_000)
                if staged:
                    _staged_chunk(session, conn, store, ch, bid, (writer, retired_writer), sqlite=sqlite)
                else:
                    store.write(ch)
                done += ch.n
                if staged:
                    conn = session.connection()
                    for part in (writer, retired_writer, syncer, store):
                        part.conn = conn  # type: ignore[union-attr]
                if progress:
                    progress(done, total)
        except IntegrityError:
            raise TrackerError(CONFLICT) from None
        if progress:
            progress(done, done)  # every row read: what is left is the commit (and index rebuilds)
        result.rows_total = done
        result.valid_rows = result.imported + result.unchanged + result.changed + result.corrected_earlier
        failed = result.invalid_rows > 0 and not skip_invalid
        if result.rows_total == 0:
            raise TrackerError(f"{source_file} 没有数据行（只有表头），没有可导入的记录")
        if staged and not failed:
            # read-only work before the publishing transaction takes the write lock
            records = _rows.batch_digest(conn, table, bid, after_id)
            locks.check_batch(session, kd.model, bid, project)
            session.commit()
            conn = session.connection()
            syncer.conn = conn
            now = utcnow()  # what this import retires, it retires when it is published
            batch.heartbeat_at = now
            session.add(batch)
            session.flush()  # the first write: the publishing transaction holds the write lock from here
            if not syncer.publish_changed(now):  # changed rows replace their records (before the ledger check)
                raise TrackerError(CONFLICT)
        if track_ledger or ledger:
            result.ledger = syncer.ledger_name(ledger, source_file)
            if result.invalid_rows == 0 or skip_invalid:
                syncer.disappeared(result.ledger, sync=sync, now=now, author=entered_by, source_file=source_file)
        syncer.finish()
        if len(names) > 1:  # rows of later sheets: their sheet and their own row number
            for r in [*result.diff.new_rows, *result.diff.changed_rows]:
                if r.row is not None:
                    k, r.row = divmod(r.row, ROW_SPAN)
                    r.sheet = names[k]
        d = result.diff
        d.ledger, d.new, d.changed, d.unchanged = result.ledger, result.imported, result.changed, result.unchanged
        d.corrected_earlier = result.corrected_earlier
        if dry_run or failed:
            session.rollback()
            if staged:
                staging.discard(ws.engine, bid, kd.kind)
            if failed:
                result.imported = 0
            return result
        if result.imported == 0 and result.changed == 0 and result.diff.retired == 0:
            if staged:
                session.rollback()
                staging.discard(ws.engine, bid, kd.kind)
            else:
                session.delete(batch)
            result.batch_id = None
        else:
            batch.rows_total, batch.rows_imported = result.rows_total, result.imported
            batch.rows_unchanged, batch.rows_invalid = result.unchanged, result.invalid_rows
            batch.rows_changed, batch.rows_retired = result.changed, result.diff.retired
            batch.rows_corrected, batch.ledger = result.corrected_earlier, result.ledger
            batch.finished_at = batch.published_at = utcnow()
            batch.owner = batch.heartbeat_at = None
            if sha_obj is not None:
                batch.file_sha256 = sha_obj.hexdigest()
            session.add(batch)
            result.batch_id = bid
            if staged:
                audit.record_batch(session, batch, kd.model, entered_by, records=records)
            else:
                locks.check_batch(session, kd.model, bid, project)
                audit.record_batch(session, batch, kd.model, entered_by, after_id=after_id)
            if result.changed or result.diff.retired:  # the amendments and retirements of a ledger sync
                audit.record_corrections(session, "import-sync", bid, kd.model, entered_by, new=False)
        for ddl in deferred:
            conn.exec_driver_sql(ddl)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise TrackerError(CONFLICT) from None
        result.committed = True
        return result
    except BaseException:
        session.rollback()
        if staged and bid is not None and not result.committed:
            if stream is not None:
                stream.close()  # the reader worker stops before the staged rows are deleted
            with contextlib.suppress(Exception):
                staging.discard(ws.engine, bid, kd.kind)
        raise
    finally:
        if stream is not None:
            stream.close()  # stops the reader worker now, not when the traceback is freed
        session.close()
