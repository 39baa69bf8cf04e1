"""Amending and voiding records: append-only.

The old row is never changed except for ``retired_at``; an amendment inserts a new row that
``supersedes`` it, and a ``Correction`` row records the action, the reason and the author. What a
record said before stays queryable (``tracker.records.visibility.visible(table, known_on)``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import select, update

from tracker import audit
from tracker.db.models import IDENTITY_ORDER, Correction, utcnow
from tracker.errors import TrackerError
from tracker.evaluation import locks
from tracker.records.columns import (
    BOOL,
    ID_NUMBER,
    KINDS,
    PHASE_LABELS,
    KindDef,
    header_index,
    norm_header,
    resolve_kind,
    unknown_field,
)
from tracker.records.importer import _roster
from tracker.records.insert import Writer, current_by_identity, lookup
from tracker.records.privacy import id_key
from tracker.records.validate import Context, prepare
from tracker.records.visibility import visible

if TYPE_CHECKING:
    from tracker.workspace import Workspace


def _current(session: Any, kd: KindDef, project: str, record_id: str | None, row_id: int | None) -> Any:
    t = kd.model.__table__
    q = select(t).where(t.c.project_code == project, visible(t))
    if row_id is not None:
        q = q.where(t.c.id == row_id)
    elif record_id is not None:
        q = q.where(t.c.record_id == str(record_id).strip())
    else:
        raise TrackerError("请指定要更正的记录：--record-id（记录编号）或 --row-id（库内编号）")
    row = session.connection().execute(q).mappings().first()
    if row is None:
        what = f"库内编号 {row_id}" if row_id is not None else f"记录编号“{record_id}”"
        raise TrackerError(f"项目 {project} 的“{kd.label}”中没有{what}的当前记录（可能已作废或已被更正）")
    return row


def _as_text(v: Any, col_type: str) -> str:
    if v is None:
        return ""
    if isinstance(v, bool) or col_type == BOOL:
        return "是" if v else "否"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def _check_reason(reason: str, author: str) -> None:
    if not reason or not reason.strip():
        raise TrackerError("请写明更正或作废的原因（--reason）")
    if not author or not author.strip():
        raise TrackerError("请写明操作人（--author）")


def amend(ws: Workspace, project: str, kind: str, record_id: str | None, changes: dict[str, Any], reason: str,
          author: str, *, row_id: int | None = None) -> int:
    """Replace the current record ``record_id`` by a corrected copy; returns the new row's id."""
    _check_reason(reason, author)
    kd = KINDS[resolve_kind(kind)]
    spec = ws.spec(project)
    if not changes:
        raise TrackerError("没有要更正的内容：请用 --set 列名=新值 指定")
    idx = header_index(kd)
    table = kd.model.__table__
    hash_key = id_key(ws.engine) if kd.kind == "roster" else None  # before the write lock
    session = ws.session()
    try:
        conn = session.connection()
        old = _current(session, kd, project, record_id, row_id)
        values: dict[str, str] = {}
        for c in kd.columns:
            if c.type == ID_NUMBER:
                continue
            v = old[c.column]
            if c.key == "phase" and v:
                v = PHASE_LABELS.get(v, v)
            values[c.key] = _as_text(v, c.type)
        attrs = dict(old["attributes"] or {})
        overrides: dict[str, Any] = {}
        if kd.kind == "roster" and "id_number" not in {idx.get(norm_header(k)) for k in changes}:
            overrides = {"id_hash": old["id_hash"], "id_masked": old["id_masked"]}
        for k, v in changes.items():
            key = idx.get(norm_header(k))
            text = "" if v is None else str(v)
            if key is None and str(k) not in attrs:  # a mistyped column: never a silent new attribute
                raise TrackerError(unknown_field(kd, str(k)) + "（记录原有的其他列也可更正）")
            if key is None:
                if text:
                    attrs[str(k)] = text
                else:
                    attrs.pop(str(k), None)
            else:
                values[key] = text
        if kd.natural_key and old["record_id"] == old[kd.natural_key] and kd.natural_key in {
                idx.get(norm_header(k)) for k in changes}:
            values.pop("record_id", None)
        now = utcnow()
        conn.execute(update(table).where(table.c.id == old["id"]).values(retired_at=now))
        attr_cols = sorted(attrs)
        frame = pd.DataFrame([{**values, **attrs}], dtype=object)
        ctx = Context(project, spec, kd, attr_cols=attr_cols, id_key=hash_key)
        if kd.kind == "activity":
            ctx.roster = _roster(conn, project)
        prep = prepare(frame, np.array([1]), ctx, overrides=overrides)
        if prep.errors:
            msgs = "；".join(f"[{c}] {m}" for c, m in prep.errors[0])
            raise TrackerError(f"更正后的记录无效：{msgs}")
        if prep.content[0] == old["content_key"]:
            raise TrackerError("更正后的内容与原记录相同，没有需要更正的地方")
        lead = IDENTITY_ORDER.get(table.name)
        lead_value = prep.values[lead][0] if lead else None
        if current_by_identity(conn, table, project, prep.dedupe, [lead_value], prep.record_id):
            raise TrackerError("更正后的记录与另一条现有记录是同一条记录（日期、类型、对象等相同）")
        rid = prep.record_id[0]
        if rid is not None and lookup(conn, table, project, "record_id", [rid]):
            raise TrackerError(f"{prep.rid_label}“{rid}”已被另一条现有记录使用")
        writer = Writer(conn, kd.model, {"project_code": project, "entered_at": now, "entered_by": author,
                                         "source_file": "tracker amend", "supersedes": old["id"]})
        data = dict(prep.values)
        data["dedupe_key"], data["record_id"] = prep.dedupe, prep.record_id
        data["content_key"] = prep.content
        data["attributes"] = prep.attributes or [None]
        writer.insert(*writer.packer().pack(data, 1))
        new_id = conn.execute(select(table.c.id).where(
            table.c.project_code == project, *([table.c[lead] == lead_value] if lead else []),
            table.c.dedupe_key == prep.dedupe[0], table.c.retired_at.is_(None))).scalar_one()
        c = Correction(project_code=project, table_name=table.name, old_id=old["id"], new_id=new_id,
                       action="amend", reason=reason.strip(), author=author.strip(), at=now)
        session.add(c)
        locks.check_dates(session, project, [old.get("date"), (prep.values.get("date") or [None])[0]], "更正")
        audit.record_correction(session, c, kd.model)
        session.commit()
        return int(new_id)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def void(ws: Workspace, project: str, kind: str, record_id: str | None, reason: str, author: str, *,
         row_id: int | None = None) -> int:
    """Withdraw the current record ``record_id`` (it stays in history); returns the Correction id."""
    _check_reason(reason, author)
    kd = KINDS[resolve_kind(kind)]
    ws.spec(project)
    table = kd.model.__table__
    session = ws.session()
    try:
        old = _current(session, kd, project, record_id, row_id)
        now = utcnow()
        session.connection().execute(update(table).where(table.c.id == old["id"]).values(retired_at=now))
        c = Correction(project_code=project, table_name=table.name, old_id=old["id"], new_id=None, action="void",
                       reason=reason.strip(), author=author.strip(), at=now)
        session.add(c)
        locks.check_dates(session, project, [old.get("date")], "作废")
        audit.record_correction(session, c, kd.model)
        session.commit()
        return int(c.id)  # type: ignore[arg-type]
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
