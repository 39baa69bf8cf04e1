"""A ledger imported again: what is new, what changed, what disappeared, what was corrected earlier.

NGOs keep one cumulative ledger and import it every month. A row is matched with the stored record
of the same identity (record id or natural key, ``KindDef.identity``); its content fingerprint tells
whether anything else changed (备注, 工作人员, an extra column). A changed row replaces the record as
an amendment whose reason is the import batch. A row whose record was voided or amended by a person
(``tracker void`` / ``tracker amend`` / ``tracker undo-batch``) and that comes back as it was before
the correction is recognised and left alone. Records of the same ledger that are no longer in the
file are reported; ``sync=True`` retires them with the batch as the reason.

The result (``LedgerDiff``) is a plain typed object with Chinese labels, for the CLI and the web page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from tracker.db.models import Correction, ImportBatch
from tracker.records.columns import ID_NUMBER, PHASE, PHASE_LABELS, POPULATION, VOCAB, KindDef

MAX_DIFF_ROWS = 500  # rows listed per category (the counts are always complete)
USER_CORRECTIONS = ("amend", "void", "undo")
SKIP_COLUMNS = {"id", "project_code", "record_id", "dedupe_key", "content_key", "entered_at", "entered_by",
                "source_file", "source_row", "batch_id", "retired_at", "supersedes", "id_hash"}


@dataclass(frozen=True)
class FieldChange:
    label: str  # 列名（中文）
    old: str
    new: str


@dataclass
class DiffRow:
    row: int | None  # 原行号 in the file (None for a stored record no longer in it)
    values: dict[str, str]  # 列名 → 值 (names and ID numbers masked)
    changes: list[FieldChange] = field(default_factory=list)
    record: int | None = None  # 库内编号 of the stored record
    source: str | None = None  # where a disappeared record came from: 文件 第N行
    sheet: str | None = None  # the worksheet of ``row``, when the import read several

    @property
    def where(self) -> str:
        return f"工作表“{self.sheet}”第{self.row}行" if self.sheet else f"第{self.row}行"


@dataclass
class LedgerDiff:
    """What an import of a ledger changes. Counts are exact; the lists hold the first rows."""

    ledger: str | None = None
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    corrected_earlier: int = 0  # rows recognised as voided/amended earlier, left as corrected
    disappeared: int = 0  # records of this ledger no longer in the file
    retired: int = 0  # of those, retired by this import (sync)
    new_rows: list[DiffRow] = field(default_factory=list)
    changed_rows: list[DiffRow] = field(default_factory=list)
    disappeared_rows: list[DiffRow] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The diff as Chinese lines (at most ``limit`` rows per part)."""
        out: list[str] = []
        for r in self.new_rows:
            out.append(f"+ {r.where} 新增：" + "，".join(f"{k}={v}" for k, v in r.values.items()))
        for r in self.changed_rows:
            out.append(f"~ {r.where} 更改（库内编号 {r.record}）：" + "；".join(
                f"{c.label}：“{c.old}” → “{c.new}”" for c in r.changes))
        for r in self.disappeared_rows:
            what = "已退回" if self.retired else "台账中已没有"
            out.append(f"- 库内编号 {r.record}（{r.source}）{what}：" + "，".join(f"{k}={v}" for k, v in r.values.items()))
        return out


def display(v: Any) -> str:
    """A stored or packed value as the user wrote it."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v == v.to_integral() else format(v, "f")
    return str(v)


def _attrs(v: Any) -> dict[str, Any]:
    if not v:
        return {}
    if isinstance(v, str):
        try:
            return dict(json.loads(v))
        except ValueError:
            return {}
    return dict(v)


class Labels:
    """Database column → Chinese label for one kind, and the displayed values of a row."""

    def __init__(self, kd: KindDef, spec: Any = None):
        self.kd = kd
        self.labels = {c.column: c.label for c in kd.columns if c.type != ID_NUMBER}
        if any(c.type == ID_NUMBER for c in kd.columns):
            self.labels["id_masked"] = "身份证号"
        self.vocab: dict[str, dict[str, str]] = {}  # column → key → label (活动类型 …)
        for c in kd.columns:
            if c.type in (VOCAB, POPULATION) and spec is not None:
                name = c.vocab or "populations"
                items = ([*spec.activity_types, *spec.deliverable_types] if name == "approval_scopes"
                         else list(getattr(spec, name, [])))
                self.vocab[c.column] = {it.key: it.label for it in items}
            elif c.type == PHASE:
                self.vocab[c.column] = dict(PHASE_LABELS)

    def values(self, row: dict[str, Any]) -> dict[str, str]:
        from tracker.records.privacy import mask_name

        out: dict[str, str] = {}
        for col, label in self.labels.items():
            raw = row.get(col)
            v = display(self.vocab[col].get(raw, raw) if col in self.vocab and raw is not None else raw)
            if v:
                out[label] = mask_name(v) if col == "name" else v
        for k, v in _attrs(row.get("attributes")).items():
            if v not in (None, ""):
                out[str(k)] = display(v)
        return out

    def changes(self, old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
        a, b = self.values(old), self.values(new)
        return [FieldChange(k, a.get(k, ""), b.get(k, "")) for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]


class Sync:
    """The ledger side of one import: earlier corrections, changed rows, disappeared records."""

    def __init__(self, conn: Any, table: Any, kd: KindDef, project: str, bid: int, diff: LedgerDiff,
                 spec: Any = None, *, staged: bool = False):
        self.conn, self.table, self.kd, self.project, self.bid, self.diff = conn, table, kd, project, bid, diff
        # staged (a large import in short transactions): the new version of a changed row is written
        # retired (seen by nothing) and the old one stays current until ``publish_changed``
        self.staged = staged
        self.staged_pairs: list[tuple[int, int]] = []  # (old id, new id)
        self.staged_keys: dict[str, tuple[int, str]] = {}  # dedupe key → (file row, content key)
        self.labels = Labels(kd, spec)
        c = Correction.__table__
        q = select(c.c.id).where(c.c.project_code == project, c.c.table_name == table.name,
                                 c.c.action.in_(USER_CORRECTIONS)).limit(1)
        self.has_corrections = conn.execute(q).first() is not None
        self.seen_ids: list[int] = []  # current records this import found again (unchanged or corrected)
        self.seen_batches: Counter[int] = Counter()  # their batches
        self.hit_batches: Counter[int] = Counter()  # batches of every stored record the file matched

    def earlier(self, keys: list[str]) -> tuple[set[str], set[tuple[str, str]]]:
        """For identities among ``keys``: (those a person voided, (identity, content) pairs a person
        amended or voided away)."""
        if not self.has_corrections or not keys:
            return set(), set()
        t, c = self.table, Correction.__table__
        voided: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        for i in range(0, len(keys), 5000):
            part = keys[i:i + 5000]
            q = (select(t.c.dedupe_key, t.c.content_key, c.c.action)
                 .join(c, (c.c.old_id == t.c.id) & (c.c.table_name == t.name))
                 .where(t.c.project_code == self.project, c.c.action.in_(USER_CORRECTIONS),
                        t.c.dedupe_key.in_(part)))
            for dk, ck, action in self.conn.execute(q):
                pairs.add((dk, ck))
                if action in ("void", "undo"):
                    voided.add(dk)
        return voided, pairs

    def remember(self, hit: tuple[Any, ...]) -> None:
        """A stored current record the file has again."""
        self.seen_ids.append(int(hit[4]))
        if hit[1] is not None:
            self.hit_batches[int(hit[1])] += 1
            self.seen_batches[int(hit[1])] += 1

    def remember_all(self, hits: list[tuple[Any, ...]]) -> None:
        """``remember`` for many records at once."""
        self.seen_ids.extend(int(h[4]) for h in hits)
        batches = [int(h[1]) for h in hits if h[1] is not None]
        self.hit_batches.update(batches)
        self.seen_batches.update(batches)

    def row_values(self, bound: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(bound, values, strict=True))

    def note_new(self, row: int, bound: tuple[str, ...], values: tuple[Any, ...]) -> None:
        if len(self.diff.new_rows) < MAX_DIFF_ROWS:
            self.diff.new_rows.append(DiffRow(row, self.labels.values(self.row_values(bound, values))))

    def amend_changed(self, changed: list[tuple[int, tuple[Any, ...], int]], bound: tuple[str, ...],
                      values: list[tuple[Any, ...]], now: dt.datetime, reason: str, author: str) -> None:
        """Retire the stored records of changed rows (before their new versions are inserted).
        ``changed``: (index into ``values``, the stored hit, file row)."""
        t = self.table
        old_ids = [int(h[4]) for _, h, _ in changed]
        olds: dict[int, dict[str, Any]] = {}
        if len(self.diff.changed_rows) < MAX_DIFF_ROWS:
            want = old_ids[:MAX_DIFF_ROWS - len(self.diff.changed_rows)]
            olds = {r["id"]: dict(r) for r in self.conn.execute(select(t).where(t.c.id.in_(want))).mappings()}
        if not self.staged:
            for i in range(0, len(old_ids), 5000):
                self.conn.execute(update(t).where(t.c.id.in_(old_ids[i:i + 5000])).values(retired_at=now))
        for j, hit, row in changed:
            if hit[1] is not None:
                self.hit_batches[int(hit[1])] += 1
            old = olds.get(int(hit[4]))
            if old is not None:
                new = self.row_values(bound, values[j])
                self.diff.changed_rows.append(DiffRow(row, self.labels.values(new),
                                                      self.labels.changes(old, new), record=int(hit[4])))
        self._pending = (changed, reason, author, now)

    def link_changed(self, dedupe: list[str], after_id: int) -> None:
        """After the insert of the chunk's rows (ids above ``after_id``): the new versions supersede
        the old, each with a Correction row."""
        changed, reason, author, now = self._pending
        t = self.table
        new_ids = self._new_versions([dedupe[j] for j, _, _ in changed], after_id, retired=False)
        pairs = [(int(h[4]), new_ids[dedupe[j]]) for j, h, _ in changed]
        for old_id, new_id in pairs:
            self.conn.execute(update(t).where(t.c.id == new_id).values(supersedes=old_id))
        self.conn.execute(insert(Correction.__table__), [
            {"project_code": self.project, "table_name": t.name, "old_id": o, "new_id": n, "action": "import-amend",
             "batch_id": self.bid, "reason": reason, "author": author, "at": now} for o, n in pairs])

    def _new_versions(self, keys: list[str], after_id: int, *, retired: bool) -> dict[str, int]:
        """dedupe key → id of the new versions of changed rows, which this import has just written
        (ids above ``after_id``; found by the primary key, whatever the table's identity index;
        retired while the import is staged)."""
        t = self.table
        state = t.c.retired_at.is_not(None) if retired else t.c.retired_at.is_(None)
        new_ids: dict[str, int] = {}
        for i in range(0, len(keys), 5000):
            q = select(t.c.dedupe_key, t.c.id).where(t.c.id > after_id, t.c.batch_id == self.bid, state,
                                                    t.c.dedupe_key.in_(keys[i:i + 5000]))
            new_ids.update({dk: int(i_) for dk, i_ in self.conn.execute(q)})
        return new_ids

    def stage_changed(self, dedupe: list[str], content: list[str], after_id: int) -> None:
        """Staged: after the retired insert of the new versions (ids above ``after_id``), remember
        which old record each replaces."""
        changed = self._pending[0]
        new_ids = self._new_versions([dedupe[j] for j, _, _ in changed], after_id, retired=True)
        for j, h, row in changed:
            self.staged_pairs.append((int(h[4]), new_ids[dedupe[j]]))
            self.staged_keys[dedupe[j]] = (row, content[j])

    def publish_changed(self, now: dt.datetime) -> bool:
        """Staged, in the publishing transaction: retire the old versions and make the new ones
        current. False when another writer retired one of the old versions meanwhile."""
        if not self.staged_pairs:
            return True
        _, reason, author, _ = self._pending
        t = self.table
        olds = [o for o, _ in self.staged_pairs]
        done = 0
        for i in range(0, len(olds), 5000):
            done += self.conn.execute(update(t).where(t.c.id.in_(olds[i:i + 5000]), t.c.retired_at.is_(None))
                                      .values(retired_at=now)).rowcount or 0
        if done != len(olds):
            return False
        self.conn.execute(update(t).where(t.c.id == bindparam("new_id")).values(
            retired_at=None, supersedes=bindparam("old_id")),
            [{"new_id": n, "old_id": o} for o, n in self.staged_pairs])
        self.conn.execute(insert(Correction.__table__), [
            {"project_code": self.project, "table_name": t.name, "old_id": o, "new_id": n, "action": "import-amend",
             "batch_id": self.bid, "reason": reason, "author": author, "at": now} for o, n in self.staged_pairs])
        return True

    # ------------------------------------------------------------------ the ledger as a whole

    def finish(self) -> None:
        """The listed rows in file order."""
        self.diff.new_rows.sort(key=lambda r: r.row or 0)
        self.diff.changed_rows.sort(key=lambda r: r.row or 0)

    def ledger_name(self, explicit: str | None, default: str) -> str:
        """The ledger this import belongs to: the one named, else the ledger most of the file's
        rows were imported from before (by content), else the file's name."""
        if explicit:
            return explicit.strip()
        if self.hit_batches:
            b = ImportBatch.__table__
            names: Counter[str] = Counter()
            ids = list(self.hit_batches)
            for i in range(0, len(ids), 5000):
                q = select(b.c.id, b.c.ledger).where(b.c.id.in_(ids[i:i + 5000]))
                for bid, name in self.conn.execute(q):
                    if name:
                        names[name] += self.hit_batches[int(bid)]
            if names:
                return names.most_common(1)[0][0]
        return default

    def disappeared(self, ledger: str, *, sync: bool, now: dt.datetime, author: str, source_file: str) -> None:
        """Current records from earlier imports of ``ledger`` that this file no longer has."""
        t, b = self.table, ImportBatch.__table__
        earlier = select(b.c.id).where(b.c.project_code == self.project, b.c.kind == self.kd.kind,
                                       b.c.ledger == ledger, b.c.id != self.bid, b.c.published_at.is_not(None))
        in_ledger = (t.c.project_code == self.project) & t.c.retired_at.is_(None) & t.c.batch_id.in_(earlier)
        batch_ids = {int(x) for x, in self.conn.execute(earlier)}
        if not batch_ids:
            return  # the ledger's first import: nothing of it is stored (no count over the table)
        total = self.conn.execute(select(func.count()).select_from(t).where(in_ledger)).scalar_one()
        if total == sum(n for bid, n in self.seen_batches.items() if bid in batch_ids):
            return  # every record of the ledger is in the file again
        seen = set(self.seen_ids)
        gone = [int(i) for i, in self.conn.execute(select(t.c.id).where(in_ledger)) if int(i) not in seen]
        if not gone:
            return
        self.diff.disappeared = len(gone)
        rows = self.conn.execute(select(t).where(t.c.id.in_(gone[:MAX_DIFF_ROWS])).order_by(t.c.id)).mappings()
        for r in rows:
            src = f"{r['source_file']} 第{r['source_row']}行" if r["source_row"] else str(r["source_file"] or "")
            self.diff.disappeared_rows.append(DiffRow(None, self.labels.values(dict(r)), record=int(r["id"]),
                                                      source=src))
        if not sync:
            return
        for i in range(0, len(gone), 5000):
            self.conn.execute(update(t).where(t.c.id.in_(gone[i:i + 5000])).values(retired_at=now))
        reason = f"台账“{ledger}”再次导入（{source_file}，导入批次 {self.bid}）时已没有这一行"
        self.conn.execute(insert(Correction.__table__), [
            {"project_code": self.project, "table_name": t.name, "old_id": i, "new_id": None,
             "action": "import-retire", "batch_id": self.bid, "reason": reason, "author": author, "at": now}
            for i in gone])
        self.diff.retired = len(gone)
