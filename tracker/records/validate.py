"""Turning one chunk of raw cells into database values, checked against the project's spec.

Work is done column by column, and within a column once per distinct cell (``values.factor``): a
column is kept as a code per row into its distinct values (``_Col``) until the very end, so parsing,
checks, rule lookups and the strings of the content fingerprint cost per distinct cell, not per row.
What is left per row is taking the values by code, joining a row's fingerprint parts and its sha256.
Every problem becomes (row position, column label, Chinese reason); a row with any problem is not
imported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tracker import clock
from tracker.kpispec.model import Spec
from tracker.limits import limit
from tracker.records import values as V
from tracker.records.columns import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    DISTRICT,
    EMPLOYMENT,
    ID_NUMBER,
    LEVEL,
    MONEY,
    NUMBER,
    PHASE,
    POPULATION,
    SATISFACTION,
    TOWN,
    VILLAGE,
    VOCAB,
    VOCAB_LABELS,
    KindDef,
    norm_header,
)
from tracker.records.gazetteer import area_vocab
from tracker.records.gazetteer import clean as clean_place
from tracker.records.privacy import IdNumberError, birth_date, hash_id, id_key, mask_id, validate_id_number
from tracker.records.scrub import CODE_IS_ID, id_cells, is_phone_header, scrub_cells

PROJECT_COL = "__project__"
WHOLE_ROW = "整行"


def today_cn() -> dt.date:
    return clock.today()


@dataclass
class Context:
    project: str
    spec: Spec
    kd: KindDef
    today: dt.date = field(default_factory=today_cn)
    roster: dict[str, str | None] | None = None  # person_id → population, for activities
    attr_cols: list[str] = field(default_factory=list)  # unknown headers kept as attributes
    id_attr_cols: set[str] = field(default_factory=set)  # unknown headers that hold ID numbers
    occurrences: dict[str, int] = field(default_factory=dict)  # repeats kinds: identity → rows so far
    id_key: bytes | None = None  # the ID-hash key of the database written to (default: privacy.id_key())
    sheet_names: list[str] = field(default_factory=list)  # the worksheets read, when several

    def row_label(self, key: int) -> str:
        """第N行 of a row number, with its worksheet when the import reads several."""
        k, row = divmod(int(key), 1 << 21)  # tracker.records.reader.ROW_SPAN
        if len(self.sheet_names) > 1 and k < len(self.sheet_names):
            return f"工作表“{self.sheet_names[k]}”第{row}行"
        return f"第{row}行"

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
    dedupe: list[str]  # the record's identity (record id or natural key)
    record_id: list[str | None]
    attributes: list[dict[str, Any]] | None
    errors: dict[int, list[tuple[str, str]]]  # position → [(column label, reason)]
    rid_label: str = "记录编号"
    content: list[str] = field(default_factory=list)  # fingerprint of everything the row says

    @property
    def valid(self) -> np.ndarray:
        ok = np.ones(self.n, dtype=bool)
        if self.errors:
            ok[list(self.errors)] = False
        return ok


class _Col:
    """One column of a chunk as a code per row into a list of values (not necessarily distinct)."""

    __slots__ = ("codes", "vals")

    def __init__(self, codes: np.ndarray, vals: list[Any]):
        self.codes = codes
        self.vals = vals

    @classmethod
    def const(cls, v: Any, n: int) -> _Col:
        return cls(np.zeros(n, dtype=np.intp), [v])

    def is_none(self) -> np.ndarray:
        """Per row: the value is None."""
        return np.array([v is None for v in self.vals], dtype=bool)[self.codes]

    def rows(self) -> list[Any]:
        n = len(self.codes)
        if len(self.vals) == 1:
            return [self.vals[0]] * n
        return _objects(self.vals)[self.codes].tolist()


def _objects(vals: list[Any]) -> np.ndarray:
    arr = np.empty(len(vals), dtype=object)
    for i, v in enumerate(vals):
        arr[i] = v
    return arr


def _coalesce(a: _Col, b: _Col) -> _Col:
    """Per row: a's value, or b's where a's is None."""
    k = len(a.vals)
    take_b = np.array([v is None for v in a.vals], dtype=bool)[a.codes]
    return _Col(np.where(take_b, b.codes + k, a.codes), a.vals + b.vals)


def _first_seen(codes: np.ndarray) -> np.ndarray:
    """Mask of the first row of each code, for codes numbered in order of first appearance
    (``pd.factorize``): exactly the rows where the running maximum grows."""
    if len(codes) == 0:
        return np.zeros(0, dtype=bool)
    m = np.maximum.accumulate(codes)
    return np.concatenate(([True], m[1:] > m[:-1]))


class _Errors:
    """position → [(column label, reason)], filled in the order the checks run, and per label the
    rows that already have a problem under it."""

    def __init__(self, n: int):
        self.n = n
        self.d: dict[int, list[tuple[str, str]]] = {}
        self._by_label: dict[str, np.ndarray] = {}

    def has(self, label: str) -> np.ndarray:
        m = self._by_label.get(label)
        return m if m is not None else np.zeros(self.n, dtype=bool)

    def add(self, pos: np.ndarray, labels: list[str], msgs: list[str]) -> None:
        d = self.d
        for i, lbl, m in zip(pos.tolist(), labels, msgs, strict=True):
            es = d.get(i)
            if es is None:
                d[i] = [(lbl, m)]
            else:
                es.append((lbl, m))
        for lbl in set(labels):
            mask = self._by_label.get(lbl)
            if mask is None:
                mask = self._by_label[lbl] = np.zeros(self.n, dtype=bool)
            mask[pos[np.array([x == lbl for x in labels], dtype=bool)]] = True

    def same(self, pos: np.ndarray, label: str, msg: str) -> None:
        self.add(pos, [label] * len(pos), [msg] * len(pos))

    def column(self, col: _Col, bad: V.Problems, label: str) -> None:
        """The rows whose distinct cell has a problem: check by check, each in row order."""
        if not bad.msg:
            return
        k = len(col.vals)
        keys = list(bad.msg)
        flagged = np.zeros(k, dtype=bool)
        flagged[keys] = True
        pos = np.flatnonzero(flagged[col.codes])
        codes = col.codes[pos]
        stages = set(bad.stage.values())
        if len(stages) > 1:
            stage = np.zeros(k, dtype=np.intp)
            stage[keys] = [bad.stage[i] for i in keys]
            order = np.argsort(stage[codes], kind="stable")
            pos, codes = pos[order], codes[order]
        msgs = _objects([bad.msg.get(i) for i in range(k)])[codes].tolist()
        self.add(pos, [label] * len(pos), msgs)

    def invalid(self) -> np.ndarray:
        m = np.zeros(self.n, dtype=bool)
        if self.d:
            m[list(self.d)] = True
        return m


def _str_part(v: Any) -> str:
    return "" if v is None else (v.isoformat() if isinstance(v, dt.date) else str(v))


FOLD_MAX = 4096  # distinct value pairs up to which two fingerprint columns are joined once per pair


def _fingerprints(parts: list[tuple[np.ndarray, list[str]]], n: int) -> list[str]:
    """sha256 (32 hex digits) of each row's parts joined by \\x1f. Neighbouring parts with a constant
    or few distinct pairs are joined per distinct pair first; only what varies a lot is joined per row."""
    if n == 0:
        return []
    limit = max(FOLD_MAX, n // 8)
    groups: list[tuple[np.ndarray, list[str]]] = []
    codes, strs = parts[0]
    for c2, s2 in parts[1:]:
        ka, kb = len(strs), len(s2)
        if ka == 1:
            head = strs[0] + "\x1f"
            codes, strs = c2, [head + s for s in s2]
        elif kb == 1:
            tail = "\x1f" + s2[0]
            strs = [s + tail for s in strs]
        elif ka * kb <= limit:
            pair = codes * kb + c2
            seen = np.zeros(ka * kb, dtype=bool)
            seen[pair] = True
            which = np.flatnonzero(seen)
            index = np.cumsum(seen) - 1
            codes = index[pair]
            strs = [strs[x // kb] + "\x1f" + s2[x % kb] for x in which.tolist()]
        else:
            groups.append((codes, strs))
            codes, strs = c2, s2
    groups.append((codes, strs))
    lists = [_objects([s.encode() for s in strs])[codes].tolist() for codes, strs in groups]
    sha = hashlib.sha256
    if len(lists) == 1:
        return [sha(b).hexdigest()[:32] for b in lists[0]]
    return [sha(b"\x1f".join(t)).hexdigest()[:32] for t in zip(*lists, strict=True)]


def prepare(chunk: pd.DataFrame, rows: np.ndarray, ctx: Context,
            overrides: dict[str, Any] | None = None) -> Prepared:
    """Parse and check one chunk. ``chunk`` has a column per recognised key (raw text), the unknown
    headers (``ctx.attr_cols``) and optionally ``__project__``; ``rows`` are the file row numbers."""
    kd, spec = ctx.kd, ctx.spec
    n = len(chunk)
    errs = _Errors(n)
    cols: dict[str, _Col] = {}
    start, end = spec.project.period.start, spec.project.period.end

    for col in kd.columns:
        if col.key not in chunk.columns:  # an absent column: empty, which alone is never a problem
            if col.type == ID_NUMBER:
                for k in ("id_hash", "id_masked", "__birth_from_id"):
                    cols[k] = _Col.const(None, n)
            else:
                cols[col.column] = _Col.const(None, n)
            continue
        bad = V.Problems()
        codes, cells = (V.trim if col.type not in _CLEANED else V.clean)(chunk[col.key])
        vals: list[Any]
        if col.type == DATE:
            cells, no_year = with_year(cells, start, end) if col.period else (cells, {})
            days = V.parse_date(cells, bad, col.label)
            for i, why in no_year.items():
                bad.put(i, why)
            ok = ~np.isnat(days)
            if not col.future_ok:
                for i in np.flatnonzero(ok & (days > np.datetime64(ctx.today))).tolist():
                    bad.put(i, f"日期 {days[i]} 晚于今天（{ctx.today}），不能登记未来的记录", 1)
            if col.period:
                out_p = ok & ((days < np.datetime64(start)) | (days > np.datetime64(end)))
                for i in np.flatnonzero(out_p).tolist():
                    bad.put_first(i, f"日期 {days[i]} 不在项目周期（{start} 至 {end}）内", 2)
            if kd.kind == "approval" and col.key == "date":
                for i in np.flatnonzero(ok & (days > np.datetime64(end))).tolist():
                    bad.put_first(i, f"审批日期 {days[i]} 晚于项目结束日期 {end}", 3)
            vals = V.date_values(days)
        elif col.type == CODE:
            vals = V.parse_code(cells, bad, col.label)
            check_codes(vals, bad, col.label)
        elif col.type in _PARSERS:
            vals = _PARSERS[col.type](cells, bad, col.label)
        elif col.type in (VOCAB, POPULATION):
            name = col.vocab or "populations"
            what = VOCAB_LABELS.get(name, col.label)
            mapping = ctx.vocab_map(name)
            opts = ctx.vocab_options(name)
            vals = []
            for i, u in enumerate(cells):
                v = mapping.get(norm_header(u)) if u else None
                if v is None and u:
                    bad.put(i, f"{what}“{u}”不在项目 {ctx.project} 的规格中，可选：{opts}")
                vals.append(v)
        elif col.type in (DISTRICT, TOWN):
            place = area_vocab(tuple(spec.project.area))
            check = place.town if col.type == TOWN else place.district
            vals = []
            for i, u in enumerate(cells):
                v, msg = check(u) if u else (None, None)
                if msg:
                    bad.put(i, msg)
                vals.append(v)
        elif col.type == VILLAGE:
            vals = [clean_place(x) or None for x in scrub_cells([x or None for x in cells])]
        elif col.type == SATISFACTION:
            vals = V.parse_satisfaction(cells, bad, spec.satisfaction.satisfied)
        elif col.type == ID_NUMBER:
            hashes: list[str | None] = []
            masks: list[str | None] = []
            births: list[dt.date | None] = []
            key = ctx.id_key or id_key() if any(cells) else None
            for i, x in enumerate(cells):
                h = m = b = None
                if x:
                    try:
                        v18 = validate_id_number(x, today=ctx.today)
                    except IdNumberError as e:
                        bad.put(i, e.message)
                    else:
                        h, m, b = hash_id(v18, key), mask_id(v18), birth_date(v18)
                hashes.append(h)
                masks.append(m)
                births.append(b)
            cols["id_hash"], cols["id_masked"] = _Col(codes, hashes), _Col(codes, masks)
            cols["__birth_from_id"] = _Col(codes, births)
            errs.column(cols["id_hash"], bad, col.label)
            continue
        else:  # free text, kept as written (trimmed), ID and phone numbers masked
            vals = scrub_cells([x or None for x in cells])
        c = cols[col.column] = _Col(codes, vals)
        errs.column(c, bad, col.label)

    # required values
    for col in kd.required:
        miss = cols[col.column].is_none() & ~errs.has(col.label)
        errs.same(np.flatnonzero(miss), col.label, "必填，不能为空")

    _kind_rules(kd, ctx, cols, errs)

    # the project a file names
    if PROJECT_COL in chunk.columns:
        codes, cells = V.clean(chunk[PROJECT_COL])
        want = ctx.project.upper()
        other = V.Problems()
        for i, x in enumerate(cells):
            if x and x.upper() != want:
                other.put(i, f"该行属于项目 {x}，与本次导入的项目 {ctx.project} 不一致")
        errs.column(_Col(codes, cells), other, "项目编号")

    # attributes: unknown columns, kept as written (ID-like ones masked)
    attributes: list[dict[str, Any]] | None = None
    attr_part: tuple[np.ndarray, list[str]] | None = None
    if ctx.attr_cols:
        attr_cols = [scrub_column(h, *V.trim(chunk[h])) for h in ctx.attr_cols]
        combo = np.zeros(n, dtype=np.int64)
        for codes, cells in attr_cols:
            combo, _ = pd.factorize(combo * len(cells) + codes)
        firsts = np.flatnonzero(_first_seen(combo)).tolist()  # one row per distinct combination
        dicts: list[dict[str, Any]] = []
        for r in firsts:
            d = {}
            for h, (codes, cells) in zip(ctx.attr_cols, attr_cols, strict=True):
                x = cells[codes[r]]
                if x:
                    d[h] = mask_id(x) if h in ctx.id_attr_cols else x
            dicts.append(d)
        attributes = [dict(dicts[k]) for k in combo.tolist()]
        attr_part = (combo.astype(np.intp), [json.dumps(a, ensure_ascii=False, sort_keys=True) if a else ""
                                             for a in dicts])

    for k, v in (overrides or {}).items():
        cols[k] = _Col.const(v, n)
    births_col = cols.pop("__birth_from_id", None)
    if births_col is not None:
        cols["birth_date"] = _coalesce(cols["birth_date"], births_col)

    # identity: record_id, or the natural key of roster/staff rows
    rid = cols.get("record_id") or _Col.const(None, n)
    if kd.natural_key:
        rid = _coalesce(rid, cols[kd.natural_key])
    cols["record_id"] = rid

    # content fingerprint (normalised values and the extra columns): tells a changed row
    parts = [(cols[c].codes, [_str_part(v) for v in cols[c].vals]) for c in sorted(cols)]
    if attr_part is not None:
        parts.append(attr_part)
    content = _fingerprints(parts, n)
    dedupe = _identities(kd, cols, rid, n, ctx)

    out = {k: c.rows() for k, c in cols.items()}
    rid_label = kd.col(kd.natural_key).label if kd.natural_key else "记录编号"
    prep = Prepared(n, out, dedupe, out["record_id"], attributes, errs.d, rid_label, content)
    _within_chunk_duplicates(prep, rows, errs, kd, ctx)
    return prep


def check_codes(vals: list[Any], bad: V.Problems, label: str) -> None:
    """A code (服务对象编号, 记录编号 …) that is an ID number, or longer than ``TRACKER_MAX_CODE``
    (an index entry has to fit a database page), is refused and dropped, so that no later message
    repeats it."""
    for i in id_cells(vals):
        bad.put(i, CODE_IS_ID.format(label=label))
        vals[i] = None
    top = limit("TRACKER_MAX_CODE")
    if max(map(len, filter(None, vals)), default=0) > top:
        for i, v in enumerate(vals):
            if v and len(v) > top:
                bad.put(i, f"{label}过长（{len(v):,} 个字符，上限 {top}）：编号应简短，如 P001、2024-0001")
                vals[i] = None


def scrub_column(header: str, codes: np.ndarray, cells: list[str]) -> tuple[np.ndarray, list[str]]:
    """An extra column's distinct cells with ID numbers masked, and phone numbers too unless the
    header declares a contact phone."""
    return codes, scrub_cells(cells, phones=not is_phone_header(header))  # type: ignore[arg-type,return-value]


_CLEANED = {DATE, CODE, COUNT, NUMBER, MONEY, BOOL, LEVEL, EMPLOYMENT, PHASE, VOCAB, POPULATION, ID_NUMBER,
            DISTRICT, TOWN, SATISFACTION}
_PARSERS = {COUNT: V.parse_count, NUMBER: V.parse_number, MONEY: V.parse_money, BOOL: V.parse_bool,
            LEVEL: V.parse_level, EMPLOYMENT: V.parse_employment, PHASE: V.parse_phase}


def _pairs(a: _Col, b: _Col, rows: np.ndarray) -> tuple[np.ndarray, list[tuple[Any, Any]]]:
    """For the given rows: a code per row into the distinct (a value, b value) pairs, in order of
    first appearance."""
    codes, uniq = pd.factorize(a.codes[rows].astype(np.int64) * len(b.vals) + b.codes[rows])
    kb = len(b.vals)
    return codes, [(a.vals[x // kb], b.vals[x % kb]) for x in uniq.tolist()]


def _score_rules(ctx: Context, cols: dict[str, _Col], errs: _Errors) -> None:
    """Survey scores: above the declared full mark is an error; a row with a score and no 是否满意
    counts as satisfied when the score reaches the spec's ``satisfaction.score_threshold`` (without a
    threshold such a row would count nowhere, so it is an error)."""
    sat_conf = ctx.spec.satisfaction
    score, sat = cols["score"], cols["satisfied"]
    if sat_conf.score_max is not None:
        over = [v is not None and float(v) > sat_conf.score_max for v in score.vals]
        rows = np.flatnonzero(np.array(over, dtype=bool)[score.codes] & ~errs.has("评分"))
        errs.same(rows, "评分", f"评分超过满分 {sat_conf.score_max:g}（规格 satisfaction.score_max）")
    only_score = sat.is_none() & ~score.is_none() & ~errs.has("是否满意") & ~errs.has("评分")
    if not only_score.any():
        return
    t = sat_conf.score_threshold
    if t is None:
        errs.same(np.flatnonzero(only_score), "是否满意",
                  "只有评分、没有填写是否满意：请填写是否满意（如 满意、基本满意、不满意），或在项目规格中"
                  "声明满意的评分线（satisfaction.score_threshold，如 80）")
        return
    derived = [None if v is None else float(v) >= t for v in score.vals]
    k = len(sat.vals)
    cols["satisfied"] = _Col(np.where(only_score, score.codes + k, sat.codes), [*sat.vals, *derived])


def _kind_rules(kd: KindDef, ctx: Context, cols: dict[str, _Col], errs: _Errors) -> None:
    spec = ctx.spec
    if kd.kind == "activity":
        types, pids, parts = cols["activity_type"], cols["person_id"], cols["participants"]
        serves = {t.key: t for t in spec.activity_types}
        roster = ctx.roster or {}
        pops = {p.key: p.label for p in spec.populations}
        tdefs = [serves.get(v) if v else None for v in types.vals]
        person = np.array([t is not None and t.serves == "person" for t in tdefs], dtype=bool)[types.codes]
        group = np.array([t is not None and t.serves != "person" for t in tdefs], dtype=bool)[types.codes]
        # person-serving rows: one verdict per distinct (type, person id)
        prow = np.flatnonzero(person)
        pcodes, pairs = _pairs(types, pids, prow)
        verdicts: list[tuple[bool, str | None]] = []  # (only when no 服务对象编号 problem yet, reason)
        for typ, pid in pairs:
            t = serves[typ]
            if pid is None:
                verdicts.append((True, f"“{t.label}”服务单个对象，必须填写服务对象编号"))
            elif pid not in roster:
                verdicts.append((False, f"服务对象编号“{pid}”不在项目 {ctx.project} 的服务对象名册中（请先导入名册）"))
            elif t.population and roster[pid] != t.population:
                verdicts.append((False, f"服务对象“{pid}”不属于“{t.label}”的服务人群"
                                        f"“{pops.get(t.population, t.population)}”"))
            else:
                verdicts.append((False, None))
        has_msg = np.array([m is not None for _, m in verdicts], dtype=bool)
        cond = np.array([c for c, _ in verdicts], dtype=bool)
        keep = has_msg[pcodes] & ~(cond[pcodes] & errs.has("服务对象编号")[prow])
        p_pos, p_codes = prow[keep], pcodes[keep]
        # group rows without a count
        g_pos = np.flatnonzero(group & parts.is_none() & ~errs.has("参与人数"))
        pos = np.concatenate([p_pos, g_pos])
        msgs = [verdicts[k][1] for k in p_codes.tolist()]
        msgs += [f"“{tdefs[k].label}”是集体活动，必须填写参与人数" for k in types.codes[g_pos].tolist()]
        labels = ["服务对象编号"] * len(p_pos) + ["参与人数"] * len(g_pos)
        order = np.argsort(pos, kind="stable").tolist()
        errs.add(pos[order], [labels[k] for k in order], [msgs[k] for k in order])
    elif kd.kind == "survey":
        _score_rules(ctx, cols, errs)
        rts = cols["respondent_type"]
        default = spec.respondent_types[0].key if len(spec.respondent_types) == 1 else None
        empty = rts.is_none() & ~errs.has("调查对象类型")
        if default:
            cols["respondent_type"] = _Col(np.where(empty, len(rts.vals), rts.codes), [*rts.vals, default])
        else:
            errs.same(np.flatnonzero(empty), "调查对象类型", "必填，不能为空")
    elif kd.kind == "roster":
        pops_col, cats = cols["population"], cols["category"]
        only = spec.populations[0].key if len(spec.populations) == 1 else None
        by_label = ctx.vocab_map("populations")
        fills = [(by_label.get(norm_header(c)) if c else None) or only for c in cats.vals]
        empty = pops_col.is_none() & ~errs.has("人群")
        filled = np.array([bool(f) for f in fills], dtype=bool)[cats.codes]
        k = len(pops_col.vals)
        cols["population"] = _Col(np.where(empty & filled, cats.codes + k, pops_col.codes), pops_col.vals + fills)
        if spec.populations:
            errs.same(np.flatnonzero(empty & ~filled), "人群",
                      f"项目有多个服务人群，请填写人群：{ctx.vocab_options('populations')}")
        en, ex = cols["enrolled_on"], cols["exit_on"]
        both = np.flatnonzero(~en.is_none() & ~ex.is_none())
        codes, pairs = _pairs(en, ex, both)
        early = np.array([b < a for a, b in pairs], dtype=bool)
        errs.same(both[early[codes]], "结案日期", "结案日期早于建档日期，请核对两个日期")
    elif kd.kind == "deliverable" and ctx.roster is not None:
        # 一户一档, 一人一策: a deliverable of one person names someone on the roster
        pids = cols["person_id"]
        unknown = np.array([v is not None and v not in ctx.roster for v in pids.vals], dtype=bool)
        pos = np.flatnonzero(unknown[pids.codes] & ~errs.has("服务对象编号"))
        errs.add(pos, ["服务对象编号"] * len(pos),
                 [f"服务对象编号“{pids.vals[k]}”不在项目 {ctx.project} 的服务对象名册中（请先导入名册）"
                  for k in pids.codes[pos].tolist()])
    elif kd.kind == "approval":
        vf, vt = cols["valid_from"], cols["valid_to"]
        both = np.flatnonzero(~vf.is_none() & ~vt.is_none())
        codes, pairs = _pairs(vf, vt, both)
        early = np.array([b < a for a, b in pairs], dtype=bool)
        errs.same(both[early[codes]], "截止日期", "截止日期早于起始日期")


def _identities(kd: KindDef, cols: dict[str, _Col], rid: _Col, n: int, ctx: Context) -> list[str]:
    """Per row the record's identity (the dedupe key): its record id where it has one, else the
    fingerprint of the kind's natural key (``KindDef.identity``); for kinds whose rows may repeat,
    the second and later rows with the same natural key in a file are numbered."""
    no_rid = rid.is_none()
    by_rid: list[str] | None = None
    if not no_rid.all():
        by_rid = _fingerprints([(rid.codes, ["\x1e#" + _str_part(v) for v in rid.vals])], n)
        if not no_rid.any():
            return by_rid
    parts = [(cols[c].codes, [_str_part(v) for v in cols[c].vals]) for c in kd.identity_columns]
    natural = _fingerprints(parts, n) if parts else [""] * n
    if kd.repeats:
        seen = ctx.occurrences
        for i in np.flatnonzero(no_rid).tolist():
            k = natural[i]
            c = seen.get(k, 0) + 1
            seen[k] = c
            if c > 1:
                natural[i] = hashlib.sha256(f"{k}\x1f{c}".encode()).hexdigest()[:32]
    if by_rid is None:
        return natural
    return [natural[i] if none else by_rid[i] for i, none in enumerate(no_rid.tolist())]


def _within_chunk_duplicates(prep: Prepared, rows: np.ndarray, errs: _Errors, kd: KindDef, ctx: Context) -> None:
    """Among the rows without problems: a repeated identity (record id or natural key) is a
    duplicate of its first row, or, with other content, a second row for the same record."""
    valid = np.flatnonzero(~errs.invalid())
    if len(valid) == 0:
        return
    keys = prep.dedupe if len(valid) == prep.n else [prep.dedupe[i] for i in valid.tolist()]
    if len(set(keys)) == len(keys):  # the usual case: no identity twice (a set is cheaper than factorize)
        return
    kcodes, _ = pd.factorize(np.array(keys, dtype=object))
    first = _first_seen(kcodes)
    dup = valid[~first]
    dup_of = valid[first][kcodes[~first]]
    found = [(i, *duplicate_message(kd, prep.record_id[i], prep.content[i] == prep.content[j],
                                    ctx.row_label(int(rows[j])),
                                    prep.rid_label))
             for i, j in zip(dup.tolist(), dup_of.tolist(), strict=True)]
    errs.add(np.array([f[0] for f in found], dtype=np.intp), [f[1] for f in found], [f[2] for f in found])


_NO_YEAR = re.compile(r"^(\d{1,2})\s*(?:月\s*(\d{1,2})\s*[日号]?|[/.](\d{1,2}))$")


def with_year(cells: list[str], start: dt.date, end: dt.date) -> tuple[list[str], dict[int, str]]:
    """Dates written without a year (7月3日, 7/3) take the year of the project period in which they
    fall, when exactly one year fits; the others get a precise reason (index → reason)."""
    bad: dict[int, str] = {}
    if not any(c and len(c) <= 7 and ("月" in c or "/" in c or "." in c) for c in cells):
        return cells, bad
    out = list(cells)
    for i, c in enumerate(cells):
        m = _NO_YEAR.match(c) if c and len(c) <= 7 else None
        if not m:
            continue
        mo, d = int(m[1]), int(m[2] or m[3])
        years = []
        for y in range(start.year, end.year + 1):
            try:
                x = dt.date(y, mo, d)
            except ValueError:
                continue
            if start <= x <= end:
                years.append(y)
        if len(years) == 1:
            out[i] = f"{years[0]}-{mo:02d}-{d:02d}"
        elif years:
            bad[i] = (f"“{c}”没有写年份，项目周期（{start} 至 {end}）内有 {len(years)} 个{mo}月{d}日"
                      f"（{'、'.join(str(y) for y in years)}年）：请写明年份，如 {years[0]}-{mo:02d}-{d:02d}")
        elif 1 <= mo <= 12:
            bad[i] = f"“{c}”没有写年份，且项目周期（{start} 至 {end}）内没有{mo}月{d}日：请写明完整日期（年-月-日）"
    return out, bad


def duplicate_message(kd: KindDef, record_id: str | None, same_content: bool, first_row: int | str,
                      rid_label: str = "记录编号") -> tuple[str, str]:
    """(column label, reason) for a row whose identity an earlier row of the same file has
    (``first_row``: its number, or where it is: 工作表“2月”第5行)."""
    if not isinstance(first_row, str):
        first_row = f"第{first_row}行"
    if same_content:
        return WHOLE_ROW, f"与{first_row}重复"
    if record_id is not None:
        return rid_label, f"{rid_label}“{record_id}”与{first_row}相同，但内容不同（一个编号只能对应一条记录）"
    what = "、".join(kd.col(k).label for k in kd.identity[:4])
    hint = ("；同一天对同一对象的两次服务，请填写“时间”或“场次”列，或填写记录编号" if kd.kind == "activity"
            else "；确为两条记录时请填写记录编号")
    return WHOLE_ROW, f"与{first_row}是同一条记录（{what}相同）{hint}"

