"""Turning one chunk of raw cells into database values, checked against the project's spec.

Work is done column by column (pandas), not row by row, so a million-row file validates in seconds.
Every problem becomes (row position, column label, Chinese reason); a row with any problem is not
imported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from tracker.records import values as V
from tracker.records.columns import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    ID_NUMBER,
    LEVEL,
    MONEY,
    NUMBER,
    PHASE,
    POPULATION,
    VOCAB,
    VOCAB_LABELS,
    KindDef,
    norm_header,
)
from tracker.records.privacy import IdNumberError, birth_date, hash_id, mask_id, validate_id_number
from tracker.spec.model import Spec

PROJECT_COL = "__project__"
WHOLE_ROW = "整行"


def today_cn() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


@dataclass
class Context:
    project: str
    spec: Spec
    kd: KindDef
    today: dt.date = field(default_factory=today_cn)
    roster: dict[str, str | None] | None = None  # person_id → population, for activities
    attr_cols: list[str] = field(default_factory=list)  # unknown headers kept as attributes
    id_attr_cols: set[str] = field(default_factory=set)  # unknown headers that hold ID numbers

    def vocab_items(self, name: str) -> list[Any]:
        """A vocabulary of the spec; ``approval_scopes``: what an approval may cover, activity types
        and deliverable types (an approval with no type covers everything)."""
        if name == "approval_scopes":
            return [*self.spec.activity_types, *self.spec.deliverable_types]
        return list(getattr(self.spec, name))

    def vocab_map(self, name: str) -> dict[str, str]:
        items = self.vocab_items(name)
        out: dict[str, str] = {}
        for it in items:
            out[norm_header(it.key)] = it.key
            out[norm_header(it.label)] = it.key
        return out

    def vocab_options(self, name: str) -> str:
        items = self.vocab_items(name)
        return "、".join(it.label for it in items) or "（规格中未声明任何项）"


@dataclass
class Prepared:
    n: int
    values: dict[str, list[Any]]  # database column → value per row position
    dedupe: list[str]
    record_id: list[str | None]
    attributes: list[dict[str, Any]] | None
    errors: dict[int, list[tuple[str, str]]]  # position → [(column label, reason)]
    rid_label: str = "记录编号"

    @property
    def valid(self) -> np.ndarray:
        ok = np.ones(self.n, dtype=bool)
        if self.errors:
            ok[list(self.errors)] = False
        return ok


def _add(errors: dict[int, list[tuple[str, str]]], bad: dict[int, str], label: str) -> None:
    for i, msg in bad.items():
        errors.setdefault(i, []).append((label, msg))


def _dates_out(d: pd.Series) -> list[dt.date | None]:
    arr = d.to_numpy(dtype="datetime64[D]")
    nat = np.isnat(arr)
    out = arr.astype(object)
    out[nat] = None
    return out.tolist()


def _str_parts(vals: list[Any]) -> list[str]:
    return ["" if v is None else (v.isoformat() if isinstance(v, dt.date) else str(v)) for v in vals]


def prepare(chunk: pd.DataFrame, rows: np.ndarray, ctx: Context,
            overrides: dict[str, Any] | None = None) -> Prepared:
    """Parse and check one chunk. ``chunk`` has a column per recognised key (raw text), the unknown
    headers (``ctx.attr_cols``) and optionally ``__project__``; ``rows`` are the file row numbers."""
    kd, spec = ctx.kd, ctx.spec
    n = len(chunk)
    idx = chunk.index
    errors: dict[int, list[tuple[str, str]]] = {}
    out: dict[str, list[Any]] = {}
    parsed: dict[str, pd.Series] = {}
    empty = pd.Series([""] * n, index=idx, dtype=object)
    nones = pd.Series([None] * n, index=idx, dtype=object)
    start, end = spec.project.period.start, spec.project.period.end

    for col in kd.columns:
        present = col.key in chunk.columns
        raw = chunk[col.key] if present else empty
        bad: dict[int, str] = {}
        if col.type == DATE:
            s = V.clean(raw) if present else raw
            d = V.parse_date(s, bad, col.label)
            arr = d.to_numpy(dtype="datetime64[D]")
            ok = ~np.isnat(arr)
            if not col.future_ok:
                fut = ok & (arr > np.datetime64(ctx.today))
                for i in np.flatnonzero(fut):
                    bad[i] = f"日期 {arr[i]} 晚于今天（{ctx.today}），不能登记未来的记录"
            if col.period:
                out_p = ok & ((arr < np.datetime64(start)) | (arr > np.datetime64(end)))
                for i in np.flatnonzero(out_p):
                    bad.setdefault(i, f"日期 {arr[i]} 不在项目周期（{start} 至 {end}）内")
            if kd.kind == "approval" and col.key == "date":
                late = ok & (arr > np.datetime64(end))
                for i in np.flatnonzero(late):
                    bad.setdefault(i, f"审批日期 {arr[i]} 晚于项目结束日期 {end}")
            parsed[col.key] = d
            out[col.column] = _dates_out(d)
        elif col.type == CODE:
            v = V.parse_code(V.clean(raw) if present else raw, bad, col.label)
            parsed[col.key] = v
            out[col.column] = v.tolist()
        elif col.type == COUNT:
            v = V.parse_count(V.clean(raw), bad, col.label) if present else nones
            out[col.column] = v.tolist()
            parsed[col.key] = v
        elif col.type == NUMBER:
            if present:
                num = V.parse_number(V.clean(raw), bad, col.label)
                out[col.column] = [None if x != x else x for x in num.tolist()]
            else:
                out[col.column] = [None] * n
        elif col.type == MONEY:
            v = V.parse_money(V.clean(raw), bad, col.label) if present else nones
            out[col.column] = v.tolist()
        elif col.type in (BOOL, LEVEL, PHASE):
            fn = {BOOL: V.parse_bool, LEVEL: V.parse_level, PHASE: V.parse_phase}[col.type]
            v = fn(V.clean(raw), bad, col.label) if present else nones
            out[col.column] = v.tolist()
        elif col.type in (VOCAB, POPULATION):
            name = col.vocab or "populations"
            what = VOCAB_LABELS.get(name, col.label)
            if present:
                s = V.clean(raw)
                mapping = ctx.vocab_map(name)
                lookup = {u: (mapping.get(norm_header(u)) if u else None) for u in pd.unique(s)}
                v = s.map(lookup).astype(object)
                miss = v.isna().to_numpy() & (s != "").to_numpy()
                opts = ctx.vocab_options(name)
                for i in np.flatnonzero(miss):
                    bad[i] = f"{what}“{s.iat[i]}”不在项目 {ctx.project} 的规格中，可选：{opts}"
                v = v.where(v.notna(), None)
            else:
                v = nones
            parsed[col.key] = v
            out[col.column] = v.tolist()
        elif col.type == ID_NUMBER:
            hashes: list[str | None] = [None] * n
            masks: list[str | None] = [None] * n
            births: list[dt.date | None] = [None] * n
            if present:
                for i, x in enumerate(V.clean(raw).tolist()):
                    if not x:
                        continue
                    try:
                        v18 = validate_id_number(x, today=ctx.today)
                    except IdNumberError as e:
                        bad[i] = e.message
                        continue
                    hashes[i], masks[i], births[i] = hash_id(v18), mask_id(v18), birth_date(v18)
            out["id_hash"], out["id_masked"] = hashes, masks
            out["__birth_from_id"] = births
        else:  # free text
            v = V.trim(raw) if present else empty
            out[col.column] = [x or None for x in v.tolist()]
        _add(errors, bad, col.label)

    # required values
    for col in kd.required:
        vals = out[col.column]
        bad = {i: "必填，不能为空" for i, x in enumerate(vals) if x is None and i not in errors_for(errors, col.label)}
        _add(errors, bad, col.label)

    _kind_rules(kd, ctx, chunk, parsed, out, errors, n)

    # the project a file names
    if PROJECT_COL in chunk.columns:
        s = V.clean(chunk[PROJECT_COL])
        want = ctx.project.upper()
        for i, x in enumerate(s.tolist()):
            if x and x.upper() != want:
                errors.setdefault(i, []).append(
                    ("项目编号", f"该行属于项目 {x}，与本次导入的项目 {ctx.project} 不一致"))

    # attributes: unknown columns, kept as written (ID-like ones masked)
    attributes: list[dict[str, Any]] | None = None
    if ctx.attr_cols:
        cols = [V.trim(chunk[c]).tolist() for c in ctx.attr_cols]
        attributes = []
        for r in zip(*cols, strict=True):
            d = {}
            for h, x in zip(ctx.attr_cols, r, strict=True):
                if x:
                    d[h] = mask_id(x) if h in ctx.id_attr_cols else x
            attributes.append(d)

    for k, v in (overrides or {}).items():
        out[k] = [v] * n
    births = out.pop("__birth_from_id", None)
    if births is not None:
        out["birth_date"] = [b if b is not None else g for b, g in zip(out["birth_date"], births, strict=True)]

    # identity: record_id, or the natural key of roster/staff rows
    rid: list[str | None] = out.get("record_id", [None] * n)
    if kd.natural_key:
        nk = out[kd.natural_key]
        rid = [r if r is not None else k for r, k in zip(rid, nk, strict=True)]
    out["record_id"] = rid

    # content fingerprint (normalised values): the dedupe key
    parts = [_str_parts(out[c]) for c in sorted(out)]
    if attributes is not None:
        parts.append([json.dumps(a, ensure_ascii=False, sort_keys=True) if a else "" for a in attributes])
    dedupe = [hashlib.sha256("\x1f".join(t).encode()).hexdigest()[:32] for t in zip(*parts, strict=True)]

    rid_label = kd.col(kd.natural_key).label if kd.natural_key else "记录编号"
    prep = Prepared(n, out, dedupe, rid, attributes, errors, rid_label)
    _within_chunk_duplicates(prep, rows)
    return prep


def errors_for(errors: dict[int, list[tuple[str, str]]], label: str) -> set[int]:
    return {i for i, es in errors.items() if any(lbl == label for lbl, _ in es)}


def _kind_rules(kd: KindDef, ctx: Context, chunk: pd.DataFrame, parsed: dict[str, pd.Series],
                out: dict[str, list[Any]], errors: dict[int, list[tuple[str, str]]], n: int) -> None:
    spec = ctx.spec
    if kd.kind == "activity":
        types = out["activity_type"]
        serves = {t.key: t for t in spec.activity_types}
        pids = out["person_id"]
        parts = out["participants"]
        roster = ctx.roster or {}
        pops = {p.key: p.label for p in spec.populations}
        for i in range(n):
            t = serves.get(types[i]) if types[i] else None
            if t is None:
                continue
            if t.serves == "person":
                pid = pids[i]
                if pid is None:
                    if not errors_for_row(errors, i, "服务对象编号"):
                        errors.setdefault(i, []).append(
                            ("服务对象编号", f"“{t.label}”服务单个对象，必须填写服务对象编号"))
                elif pid not in roster:
                    errors.setdefault(i, []).append(
                        ("服务对象编号", f"服务对象编号“{pid}”不在项目 {ctx.project} 的服务对象名册中（请先导入名册）"))
                elif t.population and roster[pid] != t.population:
                    errors.setdefault(i, []).append(
                        ("服务对象编号", f"服务对象“{pid}”不属于“{t.label}”的服务人群“{pops.get(t.population, t.population)}”"))
            elif parts[i] is None and not errors_for_row(errors, i, "参与人数"):
                errors.setdefault(i, []).append(("参与人数", f"“{t.label}”是集体活动，必须填写参与人数"))
    elif kd.kind == "survey":
        rts = out["respondent_type"]
        default = spec.respondent_types[0].key if len(spec.respondent_types) == 1 else None
        for i in range(n):
            if rts[i] is None and not errors_for_row(errors, i, "调查对象类型"):
                if default:
                    rts[i] = default
                else:
                    errors.setdefault(i, []).append(("调查对象类型", "必填，不能为空"))
    elif kd.kind == "roster":
        pops = out["population"]
        cats = out["category"]
        only = spec.populations[0].key if len(spec.populations) == 1 else None
        by_label = ctx.vocab_map("populations")
        for i in range(n):
            if pops[i] is None and not errors_for_row(errors, i, "人群"):
                guess = by_label.get(norm_header(cats[i])) if cats[i] else None
                if guess or only:
                    pops[i] = guess or only
                elif spec.populations:
                    errors.setdefault(i, []).append(
                        ("人群", f"项目有多个服务人群，请填写人群：{ctx.vocab_options('populations')}"))
    elif kd.kind == "approval":
        vf, vt = out["valid_from"], out["valid_to"]
        for i in range(n):
            if vf[i] is not None and vt[i] is not None and vt[i] < vf[i]:
                errors.setdefault(i, []).append(("截止日期", "截止日期早于起始日期"))


def errors_for_row(errors: dict[int, list[tuple[str, str]]], i: int, label: str) -> bool:
    return any(lbl == label for lbl, _ in errors.get(i, ()))


def _within_chunk_duplicates(prep: Prepared, rows: np.ndarray) -> None:
    valid = prep.valid
    first_by_key: dict[str, int] = {}
    first_by_rid: dict[str, tuple[int, str]] = {}
    for i in np.flatnonzero(valid).tolist():
        k = prep.dedupe[i]
        if k in first_by_key:
            prep.errors.setdefault(i, []).append((WHOLE_ROW, f"与第{rows[first_by_key[k]]}行重复"))
            continue
        first_by_key[k] = i
        r = prep.record_id[i]
        if r is not None:
            if r in first_by_rid:
                j, _ = first_by_rid[r]
                prep.errors.setdefault(i, []).append(
                    (prep.rid_label, f"{prep.rid_label}“{r}”与第{rows[j]}行相同，但内容不同（一个编号只能对应一条记录）"))
            else:
                first_by_rid[r] = (i, k)
