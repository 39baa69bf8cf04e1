"""``verify``: recompute the audit chain, then compare every audited table with what the chain says.

1. The chain: ``seq`` runs 1, 2, 3 … without a gap; each entry's content hashes to its
   ``content_hash``, its ``prev_hash`` is the previous entry's hash, and its own hash is right.
2. Record tables (activities, roster …): every row was inserted by an import batch in the chain
   (its id among the batch's ids, its fingerprint the one recorded) or by an amendment in the chain;
   every row the chain says a batch inserted is still there; a row is retired exactly when, and at
   the time, a correction (or a batch undo) in the chain retired it.
3. Plain audited tables (batches, corrections, judgements, notes, contacts, submissions …): every
   row equals the latest snapshot the chain holds of it, and every snapshot's row exists.
The first discrepancy is named in Chinese (which entry, which table and row, from which file and
row), with a count of all found.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from tracker.audit import rows as _rows
from tracker.db.audit import AuditEntry

MAX_KEPT = 200
_CONSTANT = operator.itemgetter(*_rows.BATCH_CONSTANT)

#: Plain tables whose every row must be in the chain, with their Chinese names. Other modules
#: (submissions, accounts) add theirs with ``audited_table``.
PLAIN_TABLES: dict[str, str] = {
    "importbatch": "导入批次",
    "correction": "更正记录",
    "judgement": "人工评定",
    "explanation": "说明（未完成原因、改进措施、下一步计划）",
    "contact": "联系人",
    "submission": "评估报送",
    "submissionevent": "评估报送的审核记录",
    "evaluatorscore": "评估专家评分",
    "account": "账号",
    "organisation": "组织",
    "organisationproject": "项目的承接组织",
}

#: Tables outside the chain, each with the reason. ``tests/test_audit.py`` checks that every table
#: is a record table, a plain audited table or one of these.
UNAUDITED_TABLES: dict[str, str] = {
    "audit_entry": "审计记录本身（哈希链）",
    "project": "由项目规格文件同步而来：规格文件才是依据，其 SHA-256 记在行内",
    "websession": "登录会话：登录与退出不改变任何数据；退出、改密码、停用都记在账号上",
    "loginattempt": "登录尝试：只用于限制连续输错密码的次数",
    "backgroundjob": "后台任务（生成报告）的进度，不是数据",
    "pendingupload": "已检查、待确认的上传：确认导入时由导入批次记入审计",
    "outbox": "邮件发件箱的发送状态（发出的内容由数据决定）",
    "evidencefile": "证据文件：按内容的 SHA-256 保存，改动文件内容即改变其名称",
    "setting": "数据库设置（身份证号哈希密钥，只写入一次）：密钥不能写进会被查看和导出的审计记录",
}


def audited_table(name: str, label: str) -> None:
    PLAIN_TABLES[name] = label


def unaudited_table(name: str, reason: str) -> None:
    UNAUDITED_TABLES[name] = reason


@dataclass(frozen=True)
class Discrepancy:
    where: str  # "chain" | a table name
    key: tuple[Any, ...]
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class VerifyResult:
    entries: int = 0
    rows_checked: int = 0
    head_seq: int = 0
    head_hash: str = ""
    problems: list[Discrepancy] = field(default_factory=list)
    total_problems: int = 0

    @property
    def ok(self) -> bool:
        return self.total_problems == 0

    @property
    def first(self) -> Discrepancy | None:
        return self.problems[0] if self.problems else None

    def add(self, d: Discrepancy) -> None:
        self.total_problems += 1
        if len(self.problems) < MAX_KEPT:
            self.problems.append(d)

    def summary(self) -> str:
        if self.ok:
            return (f"审计记录完整：共 {self.entries} 条，链首哈希 {self.head_hash[:16] or '（空）'}"
                    f"（第 {self.head_seq} 条）；核对记录 {self.rows_checked} 行，与审计记录一致")
        return (f"发现 {self.total_problems} 处不一致（审计记录 {self.entries} 条，核对记录 {self.rows_checked} 行）。"
                f"第一处：{self.first}")


def _labels() -> dict[str, str]:
    from tracker.db.models import RECORD_TABLES
    from tracker.records.columns import KINDS

    return {m.__table__.name: KINDS[k].label if k in KINDS else k for k, m in RECORD_TABLES.items()}


@dataclass
class _Batch:
    table: str
    batch_id: int
    rows: int
    starts: list[int]
    ends: list[int]
    offsets: list[int]
    keys: str
    sha256: str
    constant: dict[str, Any]
    seen: bytearray
    sha: Any = None
    count: int = 0
    flagged: bool = False
    raw_constant: tuple[Any, ...] | None = None

    @classmethod
    def of(cls, batch_id: int, rec: dict[str, Any]) -> _Batch:
        starts, ends, offsets, n = [], [], [], 0
        for lo, hi in rec["ids"]:
            starts.append(lo)
            ends.append(hi)
            offsets.append(n)
            n += hi - lo + 1
        return cls(rec["table"], batch_id, rec["rows"], starts, ends, offsets, rec["keys"], rec["sha256"],
                   rec.get("constant") or {}, bytearray(rec["rows"]), hashlib.sha256())

    def position(self, row_id: int) -> int | None:
        k = bisect.bisect_right(self.starts, row_id) - 1
        if k < 0 or row_id > self.ends[k]:
            return None
        return self.offsets[k] + row_id - self.starts[k]

    def id_at(self, pos: int) -> int:
        k = bisect.bisect_right(self.offsets, pos) - 1
        return self.starts[k] + pos - self.offsets[k]

    def constant_ok(self, row: Any) -> bool:
        raw = _CONSTANT(row)
        if raw == self.raw_constant:
            return True
        if all(_rows.canon(row[c]) == self.constant.get(c) for c in _rows.BATCH_CONSTANT):
            self.raw_constant = raw
            return True
        return False


def _entries(conn: Any) -> Iterator[Any]:
    t = AuditEntry.__table__
    res = conn.execute(select(t).order_by(t.c.seq).execution_options(yield_per=500))
    yield from res


def verify(ws_or_engine: Any) -> VerifyResult:
    """Check the chain and every audited table against it; never writes."""
    engine = getattr(ws_or_engine, "engine", ws_or_engine)
    out = VerifyResult()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _verify(conn, out)
        conn.rollback()
    return out


def _verify(conn: Any, out: VerifyResult) -> None:
    from tracker.audit import GENESIS, entry_hash

    batches: dict[tuple[str, int], _Batch] = {}
    new_rows: dict[tuple[str, int], dict[str, Any]] = {}
    retired: dict[tuple[str, int], Any] = {}
    batch_retired: dict[tuple[str, int], Any] = {}
    snaps: dict[str, dict[str, tuple[int, dict[str, Any] | None]]] = {}

    prev, expect_seq = GENESIS, 1
    broken = False
    for e in _entries(conn):
        out.entries += 1
        what = f"审计记录第 {e.seq} 条（{e.at[:19].replace('T', ' ')} {e.actor} {e.action} {e.entity} {e.entity_id}）"
        if not broken:
            if e.seq != expect_seq:
                out.add(Discrepancy("chain", (e.seq,), (
                    f"审计记录第 {expect_seq} 条缺失（被删除），下一条是第 {e.seq} 条" if e.seq > expect_seq else
                    f"审计记录序号重复或倒退：第 {e.seq} 条出现在第 {expect_seq - 1} 条之后")))
                broken = True
            elif hashlib.sha256(e.content.encode()).hexdigest() != e.content_hash:
                out.add(Discrepancy("chain", (e.seq,), f"{what}的内容被改动（内容哈希不符）"))
                broken = True
            elif e.prev_hash != prev:
                out.add(Discrepancy("chain", (e.seq,), f"{what}与前一条不衔接：前一条被改动、删除，或在其前插入了记录"))
                broken = True
            elif entry_hash(e.seq, e.at, e.actor, e.action, e.entity, e.entity_id, e.content_hash,
                            e.prev_hash) != e.entry_hash:
                out.add(Discrepancy("chain", (e.seq,), f"{what}被改动（时间、操作人、操作或对象与哈希不符）"))
                broken = True
        prev, expect_seq = e.entry_hash, e.seq + 1
        try:
            content = json.loads(e.content)
        except ValueError:
            continue
        if not isinstance(content, dict):
            continue
        if "row" in content:
            snaps.setdefault(e.entity, {})[e.entity_id] = (e.seq, content["row"])
        rec = content.get("records")
        if isinstance(rec, dict) and "keys" in rec:
            b = _Batch.of(int(e.entity_id), rec)
            batches[(b.table, b.batch_id)] = b
        for ent, rows in (content.get("snapshots") or {}).items():
            for pk, row in rows.items():
                snaps.setdefault(ent, {})[str(pk)] = (e.seq, row)
        new = content.get("new")
        for n in [new] if isinstance(new, dict) else new if isinstance(new, list) else []:
            new_rows[(n["table"], int(n["id"]))] = n["row"]
        for r in content.get("retire") or []:
            for lo, hi in r.get("ids") or []:
                for i in range(int(lo), int(hi) + 1):
                    retired.setdefault((r["table"], i), r.get("at"))
        for r in content.get("retire_batch") or []:
            batch_retired.setdefault((r["table"], int(r["batch_id"])), r.get("at"))
        for r in content.get("unretire") or []:
            for lo, hi in r.get("ids") or []:
                for i in range(int(lo), int(hi) + 1):
                    retired.pop((r["table"], i), None)
    out.head_seq = expect_seq - 1
    out.head_hash = prev if out.entries else ""

    # an import still staging (or killed while staging) is not in the chain yet: its batch and rows
    # are seen by no query and are left out here (a published batch's row says so: changing it shows)
    from tracker.db.models import ImportBatch

    ib = ImportBatch.__table__
    staging = {int(i) for i, in conn.execute(select(ib.c.id).where(ib.c.published_at.is_(None)))}
    _check_records(conn, out, batches, new_rows, retired, batch_retired, staging)
    _check_plain(conn, out, snaps, staging)


def _where(label: str, row: Any) -> str:
    sf, sr = row["source_file"], row["source_row"]
    return f"“{label}”库内第 {row['id']} 条记录" + (f"（来自 {sf} 第 {sr} 行）" if sf and sr else
                                                f"（来自 {sf}）" if sf else "")


def _check_records(conn: Any, out: VerifyResult, batches: dict[tuple[str, int], _Batch],
                   new_rows: dict[tuple[str, int], dict[str, Any]], retired: dict[tuple[str, int], Any],
                   batch_retired: dict[tuple[str, int], Any], staging: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    from tracker.db.models import RECORD_TABLES

    labels = _labels()
    kp = _rows.KEY_PREFIX
    for model in RECORD_TABLES.values():
        table = model.__table__
        name = table.name
        label = labels.get(name, name)
        cols = operator.itemgetter(*_rows.content_columns(table))
        for row in _rows.iter_rows(conn, table):
            rid, bid, sr, dk = row["id"], row["batch_id"], row["source_row"], row["dedupe_key"]
            if bid in staging and (name, bid) not in batches:
                continue
            out.rows_checked += 1
            altered = not _rows.row_fingerprint_ok(row, cols)
            b = batches.get((name, bid)) if bid is not None else None
            pos = b.position(rid) if b is not None else None
            if b is not None and pos is None and (name, rid) not in new_rows:
                out.add(Discrepancy(name, (rid,), f"{_where(label, row)}不是经 tracker 写入的：导入批次 {bid} 的审计记录中没有它（在数据库中直接插入）"))
                continue
            if b is not None and pos is not None:
                b.seen[pos] = 1
                b.sha.update((b"," if b.count else b"") + _rows.item(dk, sr).encode())
                b.count += 1
                if altered or b.keys[pos * kp:pos * kp + kp] != dk[:kp] or not b.constant_ok(row):
                    b.flagged = True
                    out.add(Discrepancy(name, (rid,), f"{_where(label, row)}在 tracker 之外被修改（与导入批次 {bid} 的审计记录不符）"))
            elif (name, rid) in new_rows:  # an amendment, or a version an undo made current again
                exp = new_rows[(name, rid)]
                if altered or any(_rows.canon(row[k]) != v for k, v in exp.items()):
                    out.add(Discrepancy(name, (rid,), f"{_where(label, row)}在 tracker 之外被修改（与更正的审计记录不符）"))
            else:
                why = f"导入批次 {bid} 不在审计记录中" if bid is not None else "审计记录中没有写入它的导入或更正"
                out.add(Discrepancy(name, (rid,), f"{_where(label, row)}不是经 tracker 写入的：{why}（在数据库中直接插入）"))
                continue
            ret = row["retired_at"]
            if ret is not None:
                ret = _rows.canon(ret)
            expected = retired.get((name, rid))
            if expected is None and bid is not None:
                expected = batch_retired.get((name, bid))
            if ret != expected:
                if expected is None:
                    msg = f"{_where(label, row)}在 tracker 之外被作废或标记为已更正（审计记录中没有相应的更正）"
                elif ret is None:
                    msg = f"{_where(label, row)}已被更正或作废，但其作废时间在 tracker 之外被清除（记录被“恢复”）"
                else:
                    msg = f"{_where(label, row)}的作废时间在 tracker 之外被改动"
                out.add(Discrepancy(name, (rid,), msg))
        for (tname, bid), b in sorted(batches.items()):
            if tname != name:
                continue
            if 0 in b.seen:
                pos = b.seen.index(0)
                missing = b.rows - sum(b.seen)
                out.add(Discrepancy(name, (b.id_at(pos),), (
                    f"“{label}”库内第 {b.id_at(pos)} 条记录（导入批次 {bid}）在 tracker 之外被删除"
                    + (f"（该批次共缺 {missing} 条）" if missing > 1 else ""))))
            elif not b.flagged and b.sha.hexdigest() != b.sha256:
                out.add(Discrepancy(name, (bid,), f"导入批次 {bid} 的“{label}”记录与审计记录的摘要不符（在 tracker 之外被修改）"))


def _check_plain(conn: Any, out: VerifyResult, snaps: dict[str, dict[str, tuple[int, dict[str, Any] | None]]],
                 staging: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    from sqlalchemy import MetaData

    from tracker.db.models import all_tables

    meta: MetaData = all_tables()  # every table, whether or not this process has used it yet
    for name, label in PLAIN_TABLES.items():
        table = meta.tables[name]
        expected = dict(snaps.get(name, {}))
        for pk, row in _rows.all_snapshots(conn, table):
            out.rows_checked += 1
            snap = expected.pop(pk, None)
            if snap is None and name == "importbatch" and str(pk).isdigit() and int(pk) in staging:
                out.rows_checked -= 1
                continue
            if snap is None or snap[1] is None:
                out.add(Discrepancy(name, (pk,), f"“{label}”第 {pk} 条不是经 tracker 写入的（审计记录中没有它，在数据库中直接插入）"))
            elif _rows.canon(snap[1]) != row:
                diff = sorted(k for k in set(row) | set(snap[1]) if row.get(k) != snap[1].get(k))
                out.add(Discrepancy(name, (pk,), f"“{label}”第 {pk} 条在 tracker 之外被修改（与审计记录第 {snap[0]} 条不符；"
                                                 f"不同的字段：{'、'.join(diff)}）"))
        for pk, (seq, row) in sorted(expected.items(), key=lambda kv: kv[1][0]):
            if row is not None:
                out.add(Discrepancy(name, (pk,), f"“{label}”第 {pk} 条在 tracker 之外被删除（审计记录第 {seq} 条记有它）"))
