"""Fingerprints of record rows, the same at write time and at verify time.

Every record row already carries a fingerprint of its content: the ``content_key`` the importer
computes (SHA-256 over the row's normalised values, ``tracker.records.validate``). ``fingerprint``
recomputes it from the stored values, so an edit of any content column shows; an import batch's
audit entry commits to its rows' ids, dedupe keys and source rows (a SHA-256 over them in id order,
and 8 hex digits per row to name a changed one), so an edit of a dedupe key, a deletion or an
insertion shows too. Writing the entry costs one aggregate query over the batch's keys, not a pass
over its rows in Python.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, cast, select

#: Columns outside the content fingerprint: identity, provenance and system time.
PROVENANCE = ("id", "project_code", "dedupe_key", "content_key", "attributes", "entered_at", "entered_by", "source_file",
              "source_row", "batch_id", "retired_at", "supersedes")
#: Columns constant over one import batch, checked against the batch's audit entry.
BATCH_CONSTANT = ("project_code", "entered_at", "entered_by", "source_file")
KEY_PREFIX = 8
FETCH = 20_000
DIGEST_WINDOW = 100_000  # ids per query of ``batch_digest``


def content_columns(table: Any) -> list[str]:
    return sorted(c.name for c in table.columns if c.name not in PROVENANCE)


def _part(v: Any) -> str:
    return "" if v is None else (v.isoformat() if isinstance(v, dt.date) else str(v))


def fingerprints(values: list[Any], attributes: Any) -> tuple[str, ...]:
    """The dedupe keys a row with these content values (in ``content_columns`` order) may have:
    the importer adds an attributes part when its file had extra columns, even an empty one."""
    base = "\x1f".join(_part(v) for v in values)
    if attributes:
        a = json.dumps(attributes, ensure_ascii=False, sort_keys=True)
        return (hashlib.sha256((base + "\x1f" + a).encode()).hexdigest()[:32],)
    return (hashlib.sha256(base.encode()).hexdigest()[:32], hashlib.sha256((base + "\x1f").encode()).hexdigest()[:32])


def item(dedupe_key: str, source_row: Any) -> str:
    return f"{dedupe_key}:{'' if source_row is None else source_row}"


def runs(ids: list[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs of consecutive numbers."""
    out: list[list[int]] = []
    for i in ids:
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def batch_digest(conn: Any, table: Any, batch_id: int, after_id: int = 0) -> dict[str, Any]:
    """What an import batch wrote into ``table``: count, id runs, the batch's constant columns and
    a SHA-256 over its rows' (dedupe key, source row) in id order. ``after_id``: every row of the
    batch has a larger id (the importer knows it), so the rows are found by an id range instead of a
    scan of the whole table: a small import into a large table holds the write lock for no scan.

    Read a window of ids at a time (``DIGEST_WINDOW``), so that memory stays small whatever the
    batch's size; the hash is the same as over the whole text at once."""
    name = table.name
    sqlite = conn.dialect.name == "sqlite"
    p = "?" if sqlite else "%s"
    n, lo, hi = conn.exec_driver_sql(f"SELECT count(*), min(id), max(id) FROM {name} WHERE id > {p} AND batch_id = {p}",
                                     (int(after_id), batch_id)).one()
    if n == 0:
        return {"table": name, "rows": 0, "ids": [], "sha256": hashlib.sha256(b"").hexdigest(), "keys": "",
                "constant": {}}
    if hi - lo + 1 == n:
        id_runs = [[lo, hi]]
    else:
        id_runs = runs([r[0] for r in conn.exec_driver_sql(
            f"SELECT id FROM {name} WHERE id >= {p} AND batch_id = {p} ORDER BY id", (lo, batch_id))])
    expr = "dedupe_key || ':' || coalesce(CAST(source_row AS TEXT), '')"
    prefix = f"substr(dedupe_key, 1, {KEY_PREFIX})"
    window = f"batch_id = {p} AND id >= {p} AND id < {p}"
    if sqlite:
        sql = (f"SELECT group_concat(k, ','), group_concat(pk, '') FROM (SELECT {expr} AS k, {prefix} AS pk "
               f"FROM {name} WHERE {window} ORDER BY id)")
    else:
        sql = (f"SELECT string_agg({expr}, ',' ORDER BY id), string_agg({prefix}, '' ORDER BY id) "
               f"FROM {name} WHERE {window}")
    sha = hashlib.sha256()
    keys: list[str] = []
    for a in range(int(lo), int(hi) + 1, DIGEST_WINDOW):
        joined, prefixes = conn.exec_driver_sql(sql, (batch_id, a, a + DIGEST_WINDOW)).one()
        if not joined:
            continue
        sha.update(("," if keys else "").encode() + joined.encode())
        keys.append(prefixes)
    first = conn.execute(select(*[table.c[c] for c in BATCH_CONSTANT]).where(table.c.id == lo)).mappings().one()
    return {"table": name, "rows": n, "ids": id_runs, "sha256": sha.hexdigest(),
            "keys": "".join(keys), "constant": {k: canon(v) for k, v in first.items()}}


def iter_rows(conn: Any, table: Any, *where: Any) -> Iterator[Any]:
    """Every row of a record table, in id order (typed values, streamed)."""
    # attributes as their stored text: almost always "{}", decoded only when not
    cols = [cast(c, Text).label("attributes") if c.name == "attributes" else c for c in table.columns]
    q = select(*cols).order_by(table.c.id)
    for w in where:
        q = q.where(w)
    res = conn.execute(q.execution_options(stream_results=True, yield_per=FETCH))
    yield from res.mappings()


def row_fingerprint_ok(row: Any, cols: Any) -> bool:
    """The stored content key is the fingerprint of the stored content (cheapest variant first).
    ``cols``: an ``operator.itemgetter`` of ``content_columns`` (a row from ``iter_rows``)."""
    # the content fingerprint is ``content_key`` (``dedupe_key`` is the record's identity)
    dk = row["content_key"] if row["content_key"] is not None else row["dedupe_key"]
    attributes = row["attributes"]
    date = dt.date
    base = "\x1f".join(["" if v is None else (v.isoformat() if isinstance(v, date) else str(v)) for v in cols(row)])
    sha = hashlib.sha256
    if attributes and attributes not in ("{}", "null"):
        a = json.dumps(json.loads(attributes), ensure_ascii=False, sort_keys=True)
        return sha((base + "\x1f" + a).encode()).hexdigest()[:32] == dk
    return sha(base.encode()).hexdigest()[:32] == dk or sha((base + "\x1f").encode()).hexdigest()[:32] == dk


# ------------------------------------------------------------------ plain rows (judgements, notes …)


def canon(v: Any) -> Any:
    """A JSON value for a column value, the same whichever database or driver returned it."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        return v.isoformat(" ", "microseconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): canon(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [canon(x) for x in v]
    return str(v)


#: Columns the chain keeps only a SHA-256 of (a password hash or a token hash has no place in a log
#: that is read and exported; an edit of it still shows).
HASHED: dict[str, frozenset[str]] = {"account": frozenset({"password_hash", "api_token_hash"})}


def _snap(name: str, row: Any) -> dict[str, Any]:
    hashed = HASHED.get(name, frozenset())
    return {k: ("sha256:" + hashlib.sha256(v.encode()).hexdigest() if k in hashed and v is not None else canon(v))
            for k, v in row.items()}


def snapshot(conn: Any, table: Any, pk: Any) -> dict[str, Any] | None:
    """The row of ``table`` with primary key ``pk`` as canonical JSON values (None: no such row)."""
    key = next(iter(table.primary_key.columns))
    row = conn.execute(select(table).where(key == pk)).mappings().first()
    return None if row is None else _snap(table.name, row)


def all_snapshots(conn: Any, table: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    key = next(iter(table.primary_key.columns))
    for row in conn.execute(select(table).order_by(key)).mappings():
        yield str(row[key.name]), _snap(table.name, row)
