"""Importing records: one path for files (``import_file``) and for rows (``import_rows``).

All-or-nothing by default: one transaction, rolled back if any row is invalid (``skip_invalid``
imports the valid rows; ``dry_run`` checks everything and writes nothing). Rows are checked a chunk
at a time (``tracker.records.validate``), existing keys are looked up per chunk in SQL and new rows
go in with one driver-level ``executemany`` per chunk: no ORM object per row.

Identity: a ``record_id`` (记录编号; for the roster the 服务对象编号, for staff the 工作人员编号)
makes a row idempotent. Every row also gets a ``dedupe_key``, the fingerprint of its normalised
content (record_id included): an identical row is never stored twice, whichever file it comes from,
so re-importing a file, or a corrected copy of it, adds only what is new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Date, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import JSON

from tracker.db.models import ImportBatch, Person, RecordBase, utcnow
from tracker.errors import TrackerError
from tracker.records.columns import (
    IGNORED_HEADERS,
    KINDS,
    PROJECT_HEADERS,
    KindDef,
    detect_kind,
    match_headers,
    norm_header,
    resolve_kind,
)
from tracker.records.errorfile import ErrorWriter, default_error_path
from tracker.records.reader import Source, cell_text, open_source
from tracker.records.validate import PROJECT_COL, WHOLE_ROW, Context, prepare
from tracker.records.visibility import visible

MAX_KEPT_ERRORS = 10_000
LOOKUP_BATCH = 5_000
EXAMPLE_PREFIX = "示例"

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"第{self.row}行 [{self.column}] {self.message}"


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

    def summary(self) -> str:
        s = f"新增 {self.imported} 条，未变化 {self.unchanged} 条，无效 {self.invalid_rows} 条"
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


def _layout(headers: list[str], kind: str | None, project: str, what: str) -> Layout:
    if not any(h.strip() for h in headers):
        raise TrackerError(f"{what} 没有表头：第一行应为列名（如 日期、活动类型、服务对象编号）")
    guess, candidates = detect_kind(headers)
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
        if guess and guess != kd.kind:
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


# ------------------------------------------------------------------ public functions


def import_file(ws: Any, path: Path | str, project: str, kind: str | None = None, *, dry_run: bool = False,
                skip_invalid: bool = False, entered_by: str = "operator", error_file: Path | None = None,
                progress: Progress | None = None, chunk_size: int = 50_000) -> ImportResult:
    """Import one CSV or XLSX file of one kind of record into ``project``."""
    path = Path(path)
    spec = ws.spec(project)
    src: Source = open_source(path)
    lay = _layout(src.headers, kind, project, f"文件 {path.name}")
    chunks = ((df, rows) for df, rows in src.chunks(chunk_size))
    result = _run(ws, project, spec, lay, chunks, source_file=path.name, sha=src.sha256, dry_run=dry_run,
                  skip_invalid=skip_invalid, entered_by=entered_by, progress=progress, total=src.total_rows)
    if result.invalid_rows:
        # a second pass over the file: the input rows with 错误说明 added (IDs and names masked)
        writer = _writer(error_file or default_error_path(path, src.fmt), src.headers, lay)
        try:
            for raw, rows in src.chunks(chunk_size):
                writer.write(raw.to_numpy(dtype=object).tolist(), [result.messages.get(int(r), "") for r in rows])
        except BaseException:
            writer.close(keep=False)
            raise
        result.error_file = writer.close(keep=True)
    return result


def _writer(path: Path, headers: list[str], lay: Layout) -> ErrorWriter:
    id_cols = {i for i, k in lay.positions.items() if k == "id_number" or "身份证" in str(k) or "证件号" in str(k)}
    name_cols = {i for i, k in lay.positions.items() if k == "name"}
    return ErrorWriter(path, headers, id_cols=id_cols, name_cols=name_cols, replace_col=lay.error_col)


def import_rows(ws: Any, project: str, kind: str, rows: pd.DataFrame | list[dict[str, Any]], *, source_name: str,
                dry_run: bool = False, skip_invalid: bool = False, entered_by: str = "operator",
                error_file: Path | None = None, chunk_size: int = 50_000) -> ImportResult:
    """The same checks and insertion for rows that are not in a file (keys or Chinese labels as
    column names; values as text, numbers, dates or None). Row N is the N-th row (1-based)."""
    spec = ws.spec(project)
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    headers = [str(c) for c in df.columns]
    if df.empty:
        raise TrackerError(f"{source_name}：没有要导入的记录")
    lay = _layout(headers, kind, project, source_name)
    sha = hashlib.sha256()

    def cells_of(part: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({i: [cell_text(v) for v in part.iloc[:, i].tolist()] for i in range(len(headers))},
                            dtype=object)

    def chunks() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        for start in range(0, len(df), chunk_size):
            cells = cells_of(df.iloc[start:start + chunk_size])
            sha.update(pd.util.hash_pandas_object(cells, index=False).to_numpy().tobytes())
            yield cells, np.arange(start + 1, start + 1 + len(cells))

    result = _run(ws, project, spec, lay, chunks(), source_file=source_name, sha=None, dry_run=dry_run,
                  skip_invalid=skip_invalid, entered_by=entered_by, progress=None, total=len(df), sha_obj=sha)
    if error_file is not None and result.invalid_rows:
        writer = _writer(error_file, headers, lay)
        for start in range(0, len(df), chunk_size):
            cells = cells_of(df.iloc[start:start + chunk_size])
            writer.write(cells.to_numpy(dtype=object).tolist(),
                         [result.messages.get(start + 1 + k, "") for k in range(len(cells))])
        result.error_file = writer.close(keep=True)
    return result


# ------------------------------------------------------------------ the shared path


def _roster(conn: Any, project: str) -> dict[str, str | None]:
    t = Person.__table__
    q = select(t.c.person_id, t.c.population).where(t.c.project_code == project, visible(t))
    return {pid: pop for pid, pop in conn.execute(q)}


def _lookup(conn: Any, table: Any, project: str, column: str, keys: list[str]) -> dict[str, tuple[Any, ...]]:
    """key → (dedupe_key, batch_id, source_row) of current rows whose ``column`` is among ``keys``."""
    out: dict[str, tuple[Any, ...]] = {}
    pg = conn.dialect.name == "postgresql"
    for i in range(0, len(keys), LOOKUP_BATCH):
        part = keys[i:i + LOOKUP_BATCH]
        if pg:
            # a join with unnest(array): linear, whatever the planner knows about a freshly filled
            # table (``IN (…)`` / ``= ANY`` degrade to a scan comparing every row with every key)
            sql = (f"SELECT t.{column}, t.dedupe_key, t.batch_id, t.source_row "
                   f"FROM unnest(%s::text[]) AS k(key) JOIN {table.name} t ON t.{column} = k.key "
                   "WHERE t.project_code = %s AND t.retired_at IS NULL")
            rows = conn.exec_driver_sql(sql, (part, project))
        else:  # plain driver SQL: compiling an expanding IN for every batch cost more than the lookup
            marks = ", ".join("?" * len(part))
            sql = (f"SELECT {column}, dedupe_key, batch_id, source_row FROM {table.name} "
                   f"WHERE project_code = ? AND retired_at IS NULL AND {column} IN ({marks})")
            rows = conn.exec_driver_sql(sql, (project, *part))
        for k, dk, b, r in rows:
            out[k] = (dk, b, r)
    return out


class _Inserter:
    """Driver-level executemany for one record table, values converted once per column."""

    def __init__(self, conn: Any, model: type[RecordBase], const: dict[str, Any]):
        self.conn = conn
        self.table = model.__table__
        dialect = conn.dialect
        self.sqlite = dialect.name == "sqlite"
        self.cols = [c for c in self.table.columns if c.name != "id"]
        ph = "?" if dialect.paramstyle == "qmark" else "%s"
        names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in self.cols)
        self.sql = f"INSERT INTO {self.table.name} ({names}) VALUES ({', '.join([ph] * len(self.cols))})"
        self.procs = {c.name: c.type.bind_processor(dialect) for c in self.cols}
        self.const = {}
        for k, v in const.items():
            p = self.procs.get(k)
            v = p(v) if (p and v is not None) else v
            if self.sqlite and isinstance(v, dt.datetime):
                # the text SQLAlchemy stores for a UTC DateTime on SQLite (as-known-on compares it as
                # text), formatted once instead of by sqlite3's adapter for every row
                v = v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            self.const[k] = v

    def column(self, col: Any, vals: list[Any]) -> list[Any]:
        if isinstance(col.type, Date) and self.sqlite:
            return [v.isoformat() if v is not None else None for v in vals]
        if isinstance(col.type, JSON):
            return [json.dumps(v, ensure_ascii=False) if v else "{}" for v in vals]
        p = self.procs[col.name]
        if p is None:
            return vals
        return [p(v) if v is not None else None for v in vals]

    def insert(self, data: dict[str, list[Any]], n: int) -> None:
        if n == 0:
            return
        lists = []
        for c in self.cols:
            if c.name in self.const:
                lists.append([self.const[c.name]] * n)
            elif c.name in data:
                lists.append(self.column(c, data[c.name]))
            else:
                lists.append([None] * n)
        self.conn.exec_driver_sql(self.sql, list(zip(*lists, strict=True)))


def _run(ws: Any, project: str, spec: Any, lay: Layout, chunks: Iterator[tuple[pd.DataFrame, np.ndarray]], *,
         source_file: str, sha: str | None, dry_run: bool, skip_invalid: bool, entered_by: str,
         progress: Progress | None, total: int | None,
         sha_obj: Any = None) -> ImportResult:
    kd = lay.kd
    model = kd.model
    table = model.__table__
    result = ImportResult(kind=kd.kind, dry_run=dry_run)
    now = utcnow()
    session = ws.session()
    try:
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size=-131072")  # 128 MB page cache for the index pages
        batch = ImportBatch(project_code=project, kind=kd.kind, file_name=source_file, file_sha256=sha or "",
                            entered_by=entered_by, started_at=now)
        session.add(batch)
        session.flush()
        bid = batch.id
        ctx = Context(project, spec, kd, attr_cols=lay.attr_cols,
                      id_attr_cols={h for h in lay.attr_cols if "身份证" in h or "证件号" in h})
        if kd.kind == "activity":
            ctx.roster = _roster(conn, project)
        ins = _Inserter(conn, model, {"project_code": project, "entered_at": now, "entered_by": entered_by,
                                      "source_file": source_file, "batch_id": bid})
        done = 0
        pg = conn.dialect.name == "postgresql"
        analyzed = -1
        for raw, rows in chunks:
            if pg and result.imported > 2 * analyzed:
                # PostgreSQL plans the key lookups from table statistics; rows inserted by this
                # transaction are not in them, and a stale "empty table" estimate turns every lookup
                # into a nested scan (quadratic). ANALYZE sees this transaction's rows.
                conn.exec_driver_sql(f"ANALYZE {table.name}")
                analyzed = max(result.imported, 10_000)
            chunk = raw.rename(columns=lambda i: lay.positions.get(i, f"__ignored_{i}"))
            done += _chunk(conn, table, project, kd, ctx, chunk, raw, rows, ins, result, bid)
            if progress:
                progress(done, total)
        result.rows_total = done
        result.valid_rows = result.imported + result.unchanged
        if result.rows_total == 0:
            raise TrackerError(f"{source_file} 没有数据行（只有表头），没有可导入的记录")
        failed = result.invalid_rows > 0 and not skip_invalid
        if dry_run or failed:
            session.rollback()
            if failed:
                result.imported = 0
            return result
        if result.imported == 0:
            session.delete(batch)
            result.batch_id = None
        else:
            batch.rows_total, batch.rows_imported = result.rows_total, result.imported
            batch.rows_unchanged, batch.rows_invalid = result.unchanged, result.invalid_rows
            batch.finished_at = utcnow()
            if sha_obj is not None:
                batch.file_sha256 = sha_obj.hexdigest()
            session.add(batch)
            result.batch_id = bid
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise TrackerError("导入时与同时进行的另一次导入冲突，未写入任何记录：请稍后重试") from None
        result.committed = True
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _chunk(conn: Any, table: Any, project: str, kd: KindDef, ctx: Context, chunk: pd.DataFrame,
           raw: pd.DataFrame, rows: np.ndarray, ins: _Inserter, result: ImportResult, bid: int) -> int:
    # template example rows (identity starting with 示例) are skipped
    ex = np.zeros(len(chunk), dtype=bool)
    for key in {kd.natural_key or "record_id", "record_id"}:
        if key in chunk.columns:
            ex |= np.array([str(v).strip().startswith(EXAMPLE_PREFIX) for v in chunk[key].tolist()], dtype=bool)
    if ex.any():
        chunk, raw, rows = chunk[~ex].reset_index(drop=True), raw[~ex].reset_index(drop=True), rows[~ex]
    n = len(chunk)
    if n == 0:
        return 0
    prep = prepare(chunk, rows, ctx)
    errors = prep.errors
    valid = np.flatnonzero(prep.valid).tolist()

    # what the database already holds (and what this import already inserted)
    keys = [prep.dedupe[i] for i in valid]
    seen = _lookup(conn, table, project, "dedupe_key", keys)
    fresh: list[int] = []
    unchanged = 0
    for i in valid:
        hit = seen.get(prep.dedupe[i])
        if hit is None:
            fresh.append(i)
        elif hit[1] == bid:
            errors.setdefault(i, []).append((WHOLE_ROW, f"与第{hit[2]}行重复"))
        else:
            unchanged += 1
    rids = [prep.record_id[i] for i in fresh if prep.record_id[i] is not None]
    if rids:
        by_rid = _lookup(conn, table, project, "record_id", rids)
        keep = []
        for i in fresh:
            r = prep.record_id[i]
            hit = by_rid.get(r) if r is not None else None
            if hit is None:
                keep.append(i)
            elif hit[1] == bid:
                errors.setdefault(i, []).append(
                    (prep.rid_label, f"{prep.rid_label}“{r}”与第{hit[2]}行相同，但内容不同（一个编号只能对应一条记录）"))
            else:
                errors.setdefault(i, []).append(
                    (prep.rid_label, f"{prep.rid_label}“{r}”已导入过，但内容不同：如需更正，请使用 tracker amend（写明原因）"))
        fresh = keep

    fresh.sort(key=prep.dedupe.__getitem__)  # index locality: each B-tree page touched once per chunk
    data = {k: [v[i] for i in fresh] for k, v in prep.values.items()}
    data["dedupe_key"] = [prep.dedupe[i] for i in fresh]
    data["record_id"] = [prep.record_id[i] for i in fresh]
    data["source_row"] = [int(rows[i]) for i in fresh]
    data["attributes"] = [prep.attributes[i] for i in fresh] if prep.attributes is not None else [None] * len(fresh)
    ins.insert(data, len(fresh))

    result.imported += len(fresh)
    result.unchanged += unchanged
    result.invalid_rows += len(errors)
    for i in sorted(errors):
        for col, msg in errors[i]:
            if len(result.invalid) < MAX_KEPT_ERRORS:
                result.invalid.append(RowError(int(rows[i]), col, msg))
    for i, es in errors.items():
        result.messages[int(rows[i])] = "；".join(f"[{c}] {m}" for c, m in es)
    return n
