"""Writing checked rows into a record table, fast.

The expensive part of a bulk insert through Python's database drivers is binding parameters, one
per column per row. So rows are packed once into tuples holding only the columns that vary
(``Packer``, which can run in a worker process), and ``Writer`` puts what is the same for the whole
import (project, batch, who and when) and the columns a chunk leaves empty into the statement
itself. On SQLite those are SQL literals; PostgreSQL gets the rows through COPY.

``KeySet`` remembers, in 8 bytes a key, the dedupe keys and record ids this import has written, so
that only a possible repeat costs a database lookup; a hit is always confirmed in the database.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import Date, DateTime
from sqlalchemy.types import JSON

from tracker.db.models import IDENTITY_ORDER, RecordBase
from tracker.errors import TrackerError

LOOKUP_BATCH = 5_000
ROWS_PER_STATEMENT = 100  # SQLite: rows in one multi-row INSERT (11 columns: 1,100 parameters of 32,766)


@lru_cache(maxsize=4)
def dialect_for(name: str) -> Any:
    """A SQLAlchemy dialect by name, for converting values without a connection (worker process)."""
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

        return SQLiteDialect_pysqlite()
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    return PGDialect_psycopg()


class Packer:
    """Rows of one record table as tuples of database values, for the columns that vary."""

    def __init__(self, model: type[RecordBase], dialect_name: str, constant: Sequence[str]):
        self.model = model
        self.dialect_name = dialect_name
        self.constant = list(constant)
        self.sqlite = dialect_name == "sqlite"
        dialect = dialect_for(dialect_name)
        table = model.__table__
        self.cols = [c for c in table.columns if c.name != "id" and c.name not in constant]
        self.procs = {c.name: c.type.bind_processor(dialect) for c in self.cols}

    def _column(self, col: Any, vals: list[Any]) -> list[Any]:
        if isinstance(col.type, Date) and self.sqlite:
            text = {d: d.isoformat() for d in set(vals) if d is not None}  # a chunk has few distinct dates
            text[None] = None
            return [text[v] for v in vals]
        if isinstance(col.type, DateTime) and self.sqlite:
            return [_sqlite_datetime(v) if v is not None else None for v in vals]
        if isinstance(col.type, JSON):
            return [json.dumps(v, ensure_ascii=False) if v else "{}" for v in vals]
        p = self.procs[col.name]
        if p is None:
            return vals
        return [p(v) if v is not None else None for v in vals]

    def pack(self, data: dict[str, list[Any]], n: int) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """(the columns bound, one tuple per row). A column with no value in any row is left out."""
        names: list[str] = []
        lists: list[list[Any]] = []
        for c in self.cols:
            vals = data.get(c.name)
            if vals is None or vals.count(None) == len(vals):
                continue  # empty in every row: NULL (an empty JSON object for JSON columns)
            if isinstance(c.type, JSON) and not any(vals):
                continue
            names.append(c.name)
            lists.append(self._column(c, vals))
        return tuple(names), list(zip(*lists, strict=True)) if lists else [() for _ in range(n)]


def _sqlite_datetime(v: dt.datetime) -> str:
    """The text SQLAlchemy stores for a UTC DateTime on SQLite (as-known-on compares it as text)."""
    if v.tzinfo is not None:
        v = v.astimezone(dt.UTC).replace(tzinfo=None)
    return v.isoformat(" ", "microseconds")


def _sqlite_literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dt.datetime):
        v = _sqlite_datetime(v)
    elif isinstance(v, dt.date):
        v = v.isoformat()
    s = str(v)
    if "\x00" in s:
        raise TrackerError("导入信息中含有空字符（\\x00），无法写入数据库")
    return "'" + s.replace("'", "''") + "'"


class Writer:
    """INSERTs (SQLite) or COPY (PostgreSQL) for one record table. On SQLite what is constant goes
    into the statement as literals and only the rest is bound; PostgreSQL's COPY carries every
    value. Columns neither packed nor constant are left out (NULL; an empty object for JSON)."""

    def __init__(self, conn: Any, model: type[RecordBase], constant: dict[str, Any]):
        self.conn = conn
        self.model = model
        self.table = model.__table__
        dialect = conn.dialect
        self.sqlite = dialect.name == "sqlite"
        self.quote = dialect.identifier_preparer.quote
        self.constant = dict(constant)
        if self.sqlite:
            self.const_values: tuple[Any, ...] = tuple(_sqlite_literal(v) for v in constant.values())
        else:
            procs = {c.name: c.type.bind_processor(dialect) for c in self.table.columns}
            self.const_values = tuple((procs[k](v) if procs.get(k) and v is not None else v)
                                      for k, v in constant.items())
        self.empty_json = [c.name for c in self.table.columns if isinstance(c.type, JSON) and c.name not in constant]
        self._sql: dict[tuple[tuple[str, ...], int], str] = {}
        # run once before the next rows are written (in their transaction): see importer._run
        self.before_insert: Any = None

    def packer(self) -> Packer:
        return Packer(self.model, self.conn.dialect.name, list(self.constant))

    def _columns(self, bound: tuple[str, ...]) -> tuple[str, list[str]]:
        """(the column list, the JSON columns left empty) for rows with the ``bound`` columns."""
        empty = [n for n in self.empty_json if n not in bound]
        return ", ".join(self.quote(n) for n in (*bound, *self.constant, *empty)), empty

    def _statement(self, bound: tuple[str, ...], per: int = 1) -> str:
        """SQLite: INSERT of ``per`` rows at a time."""
        sql = self._sql.get((bound, per))
        if sql is None:
            names, empty = self._columns(bound)
            values = "(" + ", ".join(["?"] * len(bound) + list(self.const_values) + ["'{}'"] * len(empty)) + ")"
            sql = f"INSERT INTO {self.table.name} ({names}) VALUES {', '.join([values] * per)}"
            self._sql[(bound, per)] = sql
        return sql

    def insert(self, bound: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.before_insert is not None:
            self.before_insert()
        raw = self.conn.connection.driver_connection  # the session's connection, in its transaction
        if self.sqlite:
            # ROWS_PER_STATEMENT rows in one INSERT: fewer statement steps for the same parameters
            # (sqlite3's own cursor: no per-row checks on the way)
            per = ROWS_PER_STATEMENT
            full = len(rows) // per * per
            cur = raw.cursor()
            try:
                if full and bound:
                    width = per * len(bound)
                    flat = list(chain.from_iterable(rows[:full]))
                    cur.executemany(self._statement(bound, per),
                                    [flat[i:i + width] for i in range(0, len(flat), width)])
                    rows = rows[full:]
                if rows:
                    cur.executemany(self._statement(bound), rows)
            finally:
                cur.close()
            return
        # PostgreSQL: COPY, several times faster than INSERTs
        names, empty = self._columns(bound)
        tail = self.const_values + ("{}",) * len(empty)
        with raw.cursor() as cur, cur.copy(f"COPY {self.table.name} ({names}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r + tail)


class KeySet:
    """A set of 64-bit keys in sorted runs (merged like a binary counter: few runs, O(n log n))."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def contains(self, keys: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(keys), dtype=bool)
        for run in self.runs:
            i = np.searchsorted(run, keys)
            i[i == len(run)] = len(run) - 1
            hit |= run[i] == keys
        return hit

    def add(self, keys: np.ndarray) -> None:
        if len(keys) == 0:
            return
        self.runs.append(np.sort(keys))
        while len(self.runs) > 1 and len(self.runs[-1]) * 2 > len(self.runs[-2]):
            b = self.runs.pop()
            a = self.runs.pop()
            self.runs.append(np.sort(np.concatenate([a, b]), kind="mergesort"))


def dedupe_ints(keys: Sequence[str]) -> np.ndarray:
    """The first 64 bits of hexadecimal dedupe keys (a dedupe key is a SHA-256 prefix)."""
    return np.array([int(k[:16], 16) for k in keys], dtype=np.uint64)


def lookup(conn: Any, table: Any, project: str, column: str, keys: list[str]) -> dict[str, tuple[Any, ...]]:
    """key → (dedupe_key, batch_id, source_row, content_key, id) of current rows whose ``column`` is
    among ``keys``."""
    out: dict[str, tuple[Any, ...]] = {}
    pg = conn.dialect.name == "postgresql"
    for i in range(0, len(keys), LOOKUP_BATCH):
        part = keys[i:i + LOOKUP_BATCH]
        if pg:
            # a join with unnest(array): linear, whatever the planner knows about a freshly filled
            # table (``IN (…)`` / ``= ANY`` degrade to a scan comparing every row with every key)
            sql = (f"SELECT t.{column}, t.dedupe_key, t.batch_id, t.source_row, t.content_key, t.id "
                   f"FROM unnest(%s::text[]) AS k(key) JOIN {table.name} t ON t.{column} = k.key "
                   "WHERE t.project_code = %s AND t.retired_at IS NULL")
            rows = conn.exec_driver_sql(sql, (part, project))
        else:  # sqlite3's own cursor (no result-row objects), one statement per batch of keys
            marks = ", ".join("?" * len(part))
            sql = (f"SELECT {column}, dedupe_key, batch_id, source_row, content_key, id FROM {table.name} "
                   f"WHERE project_code = ? AND retired_at IS NULL AND {column} IN ({marks})")
            cur = conn.connection.driver_connection.execute(sql, (project, *part))
            try:
                rows = cur.fetchall()
            finally:
                cur.close()
        out.update({r[0]: tuple(r[1:]) for r in rows})
    return out


def _date_param(v: Any, sqlite: bool) -> Any:
    """A date as the driver compares it with a stored one: ISO text on SQLite, a date on PostgreSQL."""
    if v is None:
        return None
    if sqlite:
        return v.isoformat() if isinstance(v, dt.date) else str(v)
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def current_by_identity(conn: Any, table: Any, project: str, keys: list[str], leads: Sequence[Any],
                        record_ids: Sequence[str | None]) -> dict[str, tuple[Any, ...]]:
    """dedupe key → (dedupe_key, batch_id, source_row, content_key, id) of the current rows with
    these identities: ``lookup`` by dedupe key, through the table's identity index. Where that index
    leads with another column (``IDENTITY_ORDER``: an activity's date), each key comes with the row's
    value of it (``leads``); a row with a record id is found by its record id (its dedupe key is the
    record id's fingerprint, whatever the date)."""
    lead = IDENTITY_ORDER.get(table.name)
    if lead is None:
        return lookup(conn, table, project, "dedupe_key", keys)
    out: dict[str, tuple[Any, ...]] = {}
    rids = [r for r in record_ids if r is not None]
    if rids:
        out.update({h[0]: h for h in lookup(conn, table, project, "record_id", rids).values()})
    sqlite = conn.dialect.name == "sqlite"
    pairs = [(_date_param(d, sqlite), k) for k, d, r in zip(keys, leads, record_ids, strict=True) if r is None]
    cols = "t.dedupe_key, t.dedupe_key, t.batch_id, t.source_row, t.content_key, t.id"
    on = f"t.project_code = {'?' if sqlite else '%s'} AND t.{lead} = k.v AND t.dedupe_key = k.key AND t.retired_at IS NULL"
    for i in range(0, len(pairs), LOOKUP_BATCH):
        part = pairs[i:i + LOOKUP_BATCH]
        if sqlite:
            # a join with the keys as a VALUES table: one probe of the (project, date, key) index a key
            # (``(date, key) IN (VALUES …)`` would scan the project's rows)
            values = ", ".join(["(?, ?)"] * len(part))
            sql = (f"SELECT {cols} FROM (SELECT column1 AS v, column2 AS key FROM (VALUES {values})) AS k "
                   f"JOIN {table.name} t ON {on}")
            cur = conn.connection.driver_connection.execute(sql, (*chain.from_iterable(part), project))
            try:
                rows = cur.fetchall()
            finally:
                cur.close()
        else:
            sql = (f"SELECT {cols} FROM unnest(%s::date[], %s::text[]) AS k(v, key) JOIN {table.name} t ON {on}")
            rows = conn.exec_driver_sql(sql, ([d for d, _ in part], [k for _, k in part], project))
        out.update({r[0]: tuple(r[1:]) for r in rows})
    return out
