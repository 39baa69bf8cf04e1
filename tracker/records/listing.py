"""Seeing the records behind a figure, their history and the import batches; undoing a batch.

Library functions for the CLI (``tracker records / history / batches / undo-batch``) and the web.
Results are plain typed objects with Chinese labels; names and ID numbers are masked. Tables for
people (``Table``) write CSV with a UTF-8 BOM and Chinese headers (English keys on request), so
Chinese Excel opens them cleanly, or XLSX.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from tracker import audit
from tracker.db.models import RECORD_TABLES, Correction, ImportBatch, utcnow
from tracker.errors import NotFound, TrackerError
from tracker.records.columns import KINDS, KindDef, resolve_kind
from tracker.records.errorfile import create_private, neutralise
from tracker.records.ledger import Labels, display
from tracker.records.visibility import visible

MAX_LIST = 100_000


@dataclass
class Table:
    """Rows for people: ``columns`` are (English key, Chinese label)."""

    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def write_csv(self, out: io.TextIOBase | Any, *, keys: bool = False) -> None:
        w = csv.writer(out)
        w.writerow([k if keys else label for k, label in self.columns])
        for r in self.rows:
            w.writerow([neutralise(display(r.get(k))) for k, _ in self.columns])

    def csv_text(self, *, keys: bool = False) -> str:
        buf = io.StringIO()
        self.write_csv(buf, keys=keys)
        return "\ufeff" + buf.getvalue()

    def save(self, path: Path, *, keys: bool = False) -> Path:
        """CSV (UTF-8 with BOM) or XLSX by the suffix; written through a private temporary file."""
        path = Path(path)
        if path.is_dir():
            raise TrackerError(f"{path} 是一个文件夹：请给出文件名，如 {path / '记录.xlsx'}")
        tmp, fh = create_private(path, ".part", what="输出文件", option="--out")
        try:
            if path.suffix.lower() == ".xlsx":
                from openpyxl import Workbook
                from openpyxl.cell import WriteOnlyCell

                wb: Any = Workbook(write_only=True)
                ws = wb.create_sheet("记录")
                ws.append([k if keys else label for k, label in self.columns])
                for r in self.rows:
                    cells = []
                    for k, _ in self.columns:
                        v = r.get(k)
                        c = WriteOnlyCell(ws, value=v if isinstance(v, int | float | dt.date) else display(v))
                        if isinstance(v, dt.date):
                            c.number_format = "yyyy-mm-dd"
                        elif isinstance(c.value, str) and c.value[:1] in "=+-@\t\r":
                            c.data_type = "s"
                        cells.append(c)
                    ws.append(cells)
                with fh:
                    wb.save(fh)
            else:
                with io.TextIOWrapper(fh, encoding="utf-8-sig", newline="") as text:
                    self.write_csv(text, keys=keys)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path


def _kd(kind: str) -> KindDef:
    return KINDS[resolve_kind(kind)]


def _month(month: str) -> tuple[dt.date, dt.date]:
    try:
        y, m = (int(x) for x in month.replace("/", "-").split("-")[:2])
        start = dt.date(y, m, 1)
    except ValueError:
        raise TrackerError(f"月份“{month}”无效：请写成 2024-07") from None
    end = dt.date(y + (m == 12), m % 12 + 1, 1)
    return start, end


def list_records(ws: Any, project: str, kind: str = "activity", *, person: str | None = None,
                 month: str | None = None, batch: int | None = None, limit: int = MAX_LIST,
                 ids: Any = None) -> Table:
    """The current records of one kind, with where each came from (文件, 工作表, 行); ``ids``: only
    those whose 库内编号 a SELECT of one column gives (the records behind a figure)."""
    spec = ws.spec(project)
    kd = _kd(kind)
    t = kd.model.__table__
    labels = Labels(kd, spec)
    q = select(t).where(t.c.project_code == project, visible(t))
    if person:
        if "person_id" not in t.c:
            raise TrackerError(f"“{kd.label}”没有服务对象编号列：--person 不适用")
        q = q.where(t.c.person_id == person.strip())
    if month:
        if "date" not in t.c:
            raise TrackerError(f"“{kd.label}”没有日期列：--month 不适用")
        a, b = _month(month)
        q = q.where(t.c.date >= a, t.c.date < b)
    if batch is not None:
        q = q.where(t.c.batch_id == batch)
    if ids is not None:
        q = q.where(t.c.id.in_(ids))
    order = [t.c.date] if "date" in t.c else []
    q = q.order_by(*order, t.c.id).limit(limit)
    columns = [("id", "库内编号")] + [(k, v) for k, v in labels.labels.items()] + [
        ("attributes", "其他列"), ("source_file", "来源文件"), ("source_row", "原行号"), ("batch_id", "导入批次")]
    out = Table(columns)
    with ws.session() as s:
        for r in s.connection().execute(q).mappings():
            vals = labels.values(dict(r))
            row: dict[str, Any] = {k: vals.get(label, "") for k, label in labels.labels.items()}
            if "date" in row and r.get("date") is not None:
                row["date"] = r["date"]
            extra = {k: v for k, v in (r["attributes"] or {}).items() if v not in (None, "")}
            row.update(id=r["id"], attributes="；".join(f"{k}={v}" for k, v in extra.items()),
                       source_file=r["source_file"], source_row=r["source_row"], batch_id=r["batch_id"])
            out.rows.append(row)
    return out


@dataclass(frozen=True)
class Source:
    """Where a stored record came from: its kind (记录类型), file, sheet and row."""

    kind: str
    file: str | None
    sheet: str | None
    row: int | None

    def text(self) -> str:
        parts = [self.file or "网页录入"]
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.row:
            parts.append(f"第{self.row}行")
        return " ".join(parts)


def record_sources(ws: Any, project: str, refs: list[tuple[str, int]]) -> dict[tuple[str, int], Source]:
    """For (table name, 库内编号) pairs of the project's records: their kind, file, sheet and row."""
    by_table: dict[str, list[int]] = {}
    for table, rid in refs:
        if rid is not None:
            by_table.setdefault(table, []).append(int(rid))
    kinds = {m.__table__.name: k for k, m in RECORD_TABLES.items()}
    b = ImportBatch.__table__
    out: dict[tuple[str, int], Source] = {}
    with ws.engine.connect() as conn:
        for table, ids in by_table.items():
            if table not in kinds:
                continue
            t = RECORD_TABLES[kinds[table]].__table__
            for i in range(0, len(ids), 5000):
                q = (select(t.c.id, t.c.source_file, t.c.source_row, b.c.sheets)
                     .select_from(t.outerjoin(b, b.c.id == t.c.batch_id))
                     .where(t.c.project_code == project, t.c.id.in_(ids[i:i + 5000])))
                for rid, f, row, sheets in conn.execute(q):
                    sheet = "、".join(sheets) if sheets else None
                    out[(table, int(rid))] = Source(kinds[table], f, sheet, row)
    return out


@dataclass
class Version:
    record: int  # 库内编号
    current: bool
    entered_at: dt.datetime
    entered_by: str
    retired_at: dt.datetime | None
    how: str  # 导入 / 更正 / 作废 …, in Chinese
    reason: str | None
    values: dict[str, str]
    source: str | None


ACTIONS = {"amend": "更正", "void": "作废", "import-amend": "再次导入时更改", "import-retire": "台账中已删除，退回",
           "undo": "撤销导入批次"}


def record_history(ws: Any, project: str, kind: str, record: int) -> list[Version]:
    """Every version of the record whose 库内编号 is ``record`` (any version of it), oldest first."""
    spec = ws.spec(project)
    kd = _kd(kind)
    t, c = kd.model.__table__, Correction.__table__
    labels = Labels(kd, spec)
    with ws.session() as s:
        conn = s.connection()
        row = conn.execute(select(t).where(t.c.id == record, t.c.project_code == project)).mappings().first()
        if row is None:
            raise NotFound(f"项目 {project} 的“{kd.label}”中没有库内编号 {record}：请在记录列表中查找（网页的“记录”页，或命令 tracker records）")
        chain = [dict(row)]
        while chain[0]["supersedes"] is not None:  # back to the first version
            prev = conn.execute(select(t).where(t.c.id == chain[0]["supersedes"])).mappings().first()
            if prev is None:
                break
            chain.insert(0, dict(prev))
        while True:  # forward to the latest
            nxt = conn.execute(select(t).where(t.c.supersedes == chain[-1]["id"])).mappings().first()
            if nxt is None:
                break
            chain.append(dict(nxt))
        ids = [v["id"] for v in chain]
        corr = {r["old_id"]: r for r in conn.execute(select(c).where(c.c.table_name == t.name,
                                                                      c.c.old_id.in_(ids))).mappings()}
    out: list[Version] = []
    for i, v in enumerate(chain):
        made_by = corr.get(chain[i - 1]["id"]) if i else None
        how = ACTIONS.get(made_by["action"], made_by["action"]) if made_by else "导入" if v["batch_id"] else "登记"
        src = f"{v['source_file']} 第{v['source_row']}行" if v["source_row"] else v["source_file"]
        out.append(Version(int(v["id"]), v["retired_at"] is None, v["entered_at"], v["entered_by"], v["retired_at"],
                           how, made_by["reason"] if made_by else None, labels.values(v), src))
    last = corr.get(chain[-1]["id"])
    if last is not None and last["new_id"] is None:  # voided, retired or undone at the end
        out.append(Version(int(chain[-1]["id"]), False, last["at"], last["author"], None,
                           ACTIONS.get(last["action"], last["action"]), last["reason"], {}, None))
    return out


def list_batches(ws: Any, project: str | None = None) -> Table:
    b = ImportBatch.__table__
    q = select(b).order_by(b.c.id)
    if project:
        ws.spec(project)
        q = q.where(b.c.project_code == project)
    cols = [("id", "批次"), ("project_code", "项目"), ("kind", "记录类型"), ("file_name", "文件"), ("ledger", "台账"),
            ("rows_imported", "新增"), ("rows_changed", "更改"), ("rows_unchanged", "未变化"),
            ("rows_corrected", "此前已更正"), ("rows_retired", "退回"), ("rows_invalid", "无效"),
            ("entered_by", "录入人"), ("started_at", "时间"), ("state", "状态")]
    out = Table(cols)
    with ws.session() as s:
        for r in s.connection().execute(q).mappings():
            row = dict(r)
            row["kind_key"] = r["kind"]
            row["kind"] = KINDS[r["kind"]].label if r["kind"] in KINDS else r["kind"]
            row["state"] = ("导入中（尚未完成，记录不可见）" if r["published_at"] is None else
                            "已撤销" if r["undone_at"] else "有效")
            out.rows.append(row)
    return out


@dataclass
class UndoResult:
    batch: int
    retired: int  # records the batch added or changed, now retired
    restored: int  # records the batch had changed or retired, current again


def undo_batch(ws: Any, batch: int, reason: str, author: str, *, project: str | None = None) -> UndoResult:
    """Retire every current record an import batch wrote and bring back the versions it replaced or
    retired, in one transaction; each step is a Correction with the batch and the reason. With
    ``project``, a batch of another project is not found."""
    if not reason or not reason.strip():
        raise TrackerError("请写明撤销的原因（--reason）")
    now = utcnow()
    session = ws.session()
    try:
        conn = session.connection()
        b = conn.execute(select(ImportBatch.__table__).where(ImportBatch.__table__.c.id == batch)).mappings().first()
        if b is None or (project is not None and b["project_code"] != project):
            raise NotFound(f"没有导入批次 {batch}：请在导入批次列表中查看（网页的“导入批次”页，或命令 tracker batches）")
        if b["published_at"] is None:
            raise TrackerError(f"导入批次 {batch} 尚未完成（仍在导入，或导入被中断），其记录不计入任何数字：无需撤销")
        if b["undone_at"] is not None:
            raise TrackerError(f"导入批次 {batch} 已于 {b['undone_at']:%Y-%m-%d %H:%M} 撤销")
        t = RECORD_TABLES[b["kind"]].__table__
        c = Correction.__table__
        why = f"撤销导入批次 {batch}（{b['file_name']}）：{reason.strip()}"
        ids = [int(i) for i, in conn.execute(select(t.c.id).where(t.c.batch_id == batch, t.c.retired_at.is_(None)))]
        later = conn.execute(select(c.c.id).where(c.c.old_id.in_(ids), c.c.table_name == t.name)).first() if ids else None
        if later is not None:
            raise TrackerError(f"导入批次 {batch} 的记录此后又被更正过：请先撤销之后的更正或批次")
        # the versions this batch replaced (import-amend) or retired (import-retire)
        replaced = [int(o) for o, in conn.execute(select(c.c.old_id).where(
            c.c.batch_id == batch, c.c.table_name == t.name, c.c.action.in_(("import-amend", "import-retire"))))]
        for i in range(0, len(ids), 5000):
            conn.execute(update(t).where(t.c.id.in_(ids[i:i + 5000])).values(retired_at=now))
        if ids:
            conn.execute(insert(c), [{"project_code": b["project_code"], "table_name": t.name, "old_id": i,
                                      "new_id": None, "action": "undo", "batch_id": batch, "reason": why,
                                      "author": author, "at": now} for i in ids])
        restored = 0
        if replaced:
            # a copy of each replaced version, current again (history is never rewritten)
            skip = {"id", "entered_at", "entered_by", "retired_at", "supersedes"}
            names = [col.name for col in t.columns if col.name not in skip]
            olds = conn.execute(select(*[t.c[n] for n in ["id", *names]]).where(t.c.id.in_(replaced))).mappings().all()
            for o in olds:
                values = {n: o[n] for n in names}
                values.update(entered_at=now, entered_by=author, retired_at=None, supersedes=o["id"])
                new_id = conn.execute(insert(t).values(**values).returning(t.c.id)).scalar_one()
                conn.execute(insert(c).values(project_code=b["project_code"], table_name=t.name, old_id=o["id"],
                                              new_id=new_id, action="undo-restore", batch_id=batch, reason=why,
                                              author=author, at=now))
                restored += 1
        conn.execute(update(ImportBatch.__table__).where(ImportBatch.__table__.c.id == batch).values(undone_at=now))
        audit.record_corrections(session, "undo", batch, RECORD_TABLES[b["kind"]], author)
        session.commit()
        return UndoResult(batch, len(ids), restored)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def correction_summary(ws: Any, project: str, kind: str, *, new_id: int | None = None,
                       correction_id: int | None = None) -> str:
    """One Chinese line saying what an amend (``new_id``) or a void (``correction_id``) changed."""
    spec = ws.spec(project)
    kd = _kd(kind)
    t, c = kd.model.__table__, Correction.__table__
    labels = Labels(kd, spec)
    with ws.session() as s:
        conn = s.connection()
        if correction_id is not None:
            cr = conn.execute(select(c).where(c.c.id == correction_id)).mappings().one()
            old = conn.execute(select(t).where(t.c.id == cr["old_id"])).mappings().one()
            vals = labels.values(dict(old))
            return f"已作废库内编号 {old['id']}：" + "，".join(f"{k}={v}" for k, v in vals.items())
        new = conn.execute(select(t).where(t.c.id == new_id)).mappings().one()
        old = conn.execute(select(t).where(t.c.id == new["supersedes"])).mappings().one()
    changes = labels.changes(dict(old), dict(new))
    what = "；".join(f"{x.label}：“{x.old}” → “{x.new}”" for x in changes)
    return f"已更正库内编号 {old['id']}（新版本库内编号 {new['id']}）：{what}"
