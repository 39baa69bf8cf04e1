"""The tamper-evident audit trail: every write appends one entry to a hash chain, in the same
transaction as the write.

An entry is (seq, time, actor, action, entity, entity id, content, content hash, previous entry's
hash, entry hash). ``content`` is canonical JSON of what the write left behind: for a plain row
(a judgement, a note, a contact, a submission …) the row itself under ``"row"``; for an import
batch also a digest of the rows it inserted (``"records"``, see ``tracker.audit.rows``); for a
correction which row it retired and when (``"retire"``) and the new row's fingerprint (``"new"``).
``tracker.audit.verify`` recomputes the chain and compares the tables with what the chain says.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the
write lock the transaction already holds (``record`` is called after the write it describes); the
primary key on ``seq`` turns any race into an error, never into a fork of the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from tracker.audit import rows as _rows
from tracker.db.audit import AuditEntry

GENESIS = "0" * 64
LOCK_KEY = 727275  # pg_advisory_xact_lock key of the audit chain


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    @property
    def short(self) -> str:
        return f"{self.seq}-{self.hash[:16]}"


def _conn(conn_or_session: Any) -> Any:
    return conn_or_session.connection() if hasattr(conn_or_session, "connection") and hasattr(
        conn_or_session, "flush") else conn_or_session


def canonical_json(content: Any) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(seq: int, at: str, actor: str, action: str, entity: str, entity_id: str, content_hash: str,
               prev_hash: str) -> str:
    body = canonical_json([seq, at, actor, action, entity, entity_id, content_hash, prev_hash])
    return hashlib.sha256(body.encode()).hexdigest()


def now_text(at: dt.datetime | None = None) -> str:
    at = at or dt.datetime.now(dt.UTC)
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(conn_or_session: Any, action: str, entity: str, entity_id: Any, content: dict[str, Any],
           actor: str, *, at: dt.datetime | None = None) -> Head:
    """Append one entry (inside the caller's transaction; committed or rolled back with it)."""
    if hasattr(conn_or_session, "flush"):
        conn_or_session.flush()
    conn = _conn(conn_or_session)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
    t = AuditEntry.__table__
    last = conn.execute(select(t.c.seq, t.c.entry_hash).order_by(t.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    text = canonical_json(content)
    chash = hashlib.sha256(text.encode()).hexdigest()
    when = now_text(at)
    actor, entity_id = str(actor or "system"), str(entity_id)
    h = entry_hash(seq, when, actor, action, entity, entity_id, chash, prev)
    conn.execute(insert(t).values(seq=seq, at=when, actor=actor, action=action, entity=entity,
                                  entity_id=entity_id, content=text, content_hash=chash, prev_hash=prev,
                                  entry_hash=h))
    return Head(seq, h)


def record_row(conn_or_session: Any, action: str, model: Any, pk: Any, actor: str,
               extra: dict[str, Any] | None = None) -> Head:
    """Append an entry holding the row ``pk`` of ``model`` as it now is (``None`` once deleted)."""
    if hasattr(conn_or_session, "flush"):
        conn_or_session.flush()
    conn = _conn(conn_or_session)
    table = getattr(model, "__table__", model)
    content = {"row": _rows.snapshot(conn, table, pk), **(extra or {})}
    return record(conn_or_session, action, table.name, pk, content, actor)


def record_batch(session: Any, batch: Any, model: Any, actor: str, *, records: dict[str, Any] | None = None,
                 after_id: int = 0) -> Head:
    """An import batch: its row and a digest of the records it inserted (one entry per batch;
    ``records``: the digest, computed beforehand by a staged import)."""
    session.flush()
    conn = session.connection()
    if records is None:
        records = _rows.batch_digest(conn, model.__table__, batch.id, after_id)
    return record_row(session, "import", type(batch), batch.id, actor, {"records": records})


def record_correction(session: Any, correction: Any, model: Any) -> Head:
    """An amend or void: the Correction row, the row it retired (and when), the new row's identity."""
    session.flush()
    conn = session.connection()
    table = model.__table__
    old = conn.execute(select(table.c.retired_at).where(table.c.id == correction.old_id)).scalar()
    extra: dict[str, Any] = {"retire": [{"table": table.name, "ids": [[correction.old_id, correction.old_id]],
                                         "at": _rows.canon(old)}]}
    if correction.new_id is not None:
        new = conn.execute(select(*[table.c[c] for c in _rows.PROVENANCE if c not in ("attributes", "retired_at")])
                           .where(table.c.id == correction.new_id)).mappings().one()
        extra["new"] = {"table": table.name, "id": correction.new_id, "row": {k: _rows.canon(v) for k, v in new.items()}}
    return record_row(session, correction.action, type(correction), correction.id, correction.author, extra)


def record_corrections(session: Any, action: str, batch: Any, model: Any, actor: str, *, new: bool = True) -> Head:
    """Corrections written by one operation on behalf of import batch ``batch`` (an import's amendments
    and retirements, an undo): one entry holding the batch row as it now is, every Correction row of
    that batch (``"snapshots"``), the rows they retired and when (``"retire"``) and, with ``new``,
    the rows they made current outside the batch (``"new"``)."""
    from tracker.db.models import Correction, ImportBatch

    session.flush()
    conn = session.connection()
    table, c = model.__table__, Correction.__table__
    rows = conn.execute(select(c).where(c.c.batch_id == batch, c.c.table_name == table.name)
                        .order_by(c.c.id)).mappings().all()
    old_ids = sorted({int(r["old_id"]) for r in rows})
    by_time: dict[Any, list[int]] = {}
    for i in range(0, len(old_ids), 5000):
        q = select(table.c.id, table.c.retired_at).where(table.c.id.in_(old_ids[i:i + 5000]))
        for rid, at in conn.execute(q):
            by_time.setdefault(_rows.canon(at), []).append(int(rid))
    content: dict[str, Any] = {
        "row": _rows.snapshot(conn, ImportBatch.__table__, batch),
        "snapshots": {c.name: {str(r["id"]): {k: _rows.canon(v) for k, v in r.items()} for r in rows}},
        "retire": [{"table": table.name, "ids": _rows.runs(sorted(ids)), "at": at}
                   for at, ids in sorted(by_time.items(), key=lambda kv: str(kv[0])) if at is not None]}
    new_ids = sorted(int(r["new_id"]) for r in rows if r["new_id"] is not None)
    if new and new_ids:
        cols = [table.c[k] for k in _rows.PROVENANCE if k not in ("attributes", "retired_at")]
        content["new"] = [{"table": table.name, "id": int(r["id"]), "row": {k: _rows.canon(v) for k, v in r.items()}}
                          for i in range(0, len(new_ids), 5000)
                          for r in conn.execute(select(*cols).where(table.c.id.in_(new_ids[i:i + 5000]))).mappings()]
    return record(session, action, ImportBatch.__table__.name, batch, content, actor)


def head(conn_or_session: Any) -> Head | None:
    """The chain's last entry (None: an empty trail)."""
    conn = _conn(conn_or_session)
    t = AuditEntry.__table__
    last = conn.execute(select(t.c.seq, t.c.entry_hash).order_by(t.c.seq.desc()).limit(1)).first()
    return Head(last[0], last[1]) if last else None


def head_of(ws: Any) -> Head | None:
    with ws.engine.connect() as c:
        return head(c)


def head_at(conn_or_session: Any, at: dt.datetime) -> Head | None:
    """The chain's last entry appended at or before ``at`` (a signed report pins this one)."""
    conn = _conn(conn_or_session)
    t = AuditEntry.__table__
    last = conn.execute(select(t.c.seq, t.c.entry_hash).where(t.c.at <= now_text(at))
                        .order_by(t.c.seq.desc()).limit(1)).first()
    return Head(last[0], last[1]) if last else None


from tracker.audit.verify import Discrepancy, VerifyResult, verify  # noqa: E402

__all__ = ["GENESIS", "Discrepancy", "Head", "VerifyResult", "head", "head_at", "head_of", "record",
           "record_batch", "record_correction", "record_corrections", "record_row", "verify"]
