"""Benchmark: the whole portfolio's progress and one project's, on SQLite, with N activities spread
over the 43 projects of kpi_specs/, side by side with DuckDB running equivalent hand-written SQL
over the same data in the same run.

    .venv/bin/python bench/bench_progress.py                 # 100,000 and 1,000,000 activities
    .venv/bin/python bench/bench_progress.py --sizes 10000000  # once, for the record

Targets (issue 4): portfolio ≤ 2 s and one project ≤ 200 ms on SQLite with 1,000,000 activities.
Rows are generated directly with Core inserts (not through the importer) for speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tracker.db.connection import dispose_engines  # noqa: E402
from tracker.db.models import Activity, Approval, Assessment, Person, Survey  # noqa: E402
from tracker.measure.progress import compute_portfolio, compute_progress  # noqa: E402
from tracker.workspace import open_workspace  # noqa: E402

T0 = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
TOWNS = ["甲镇", "乙镇", "丙镇", "丁镇", "戊镇", "己镇", "庚镇"]


def machine() -> str:
    from machine import describe  # bench/machine.py, beside this script

    return describe()


def generate(ws, n_activities: int, seed: int = 2024) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rnd = random.Random(seed)
    codes = ws.codes
    per_project = n_activities // len(codes)
    counts = {"activity": 0, "roster": 0, "survey": 0, "assessment": 0, "approval": 0}
    serial = 0

    def key() -> str:
        nonlocal serial
        serial += 1
        return f"b{serial}"

    with ws.engine.begin() as conn:
        for code in codes:
            spec = ws.spec(code)
            start, end = spec.project.period.start, spec.project.period.end
            span = (end - start).days
            roster: dict[str | None, list[str]] = {}
            people = []
            for pop in spec.populations or []:
                size = max(20, min(pop.expected or 300, 3000))
                ids = [f"{pop.key}-{i}" for i in range(size)]
                roster[pop.key] = ids
                for pid in ids:
                    people.append(dict(project_code=code, dedupe_key=key(), attributes={}, entered_at=T0,
                                       entered_by="bench", person_id=pid, population=pop.key,
                                       town=rnd.choice(TOWNS), household=f"h{pid}"))
            if people:
                conn.execute(insert(Person.__table__), people)
                counts["roster"] += len(people)
            anyone = [p for ids in roster.values() for p in ids] or [f"x{i}" for i in range(500)]
            types = spec.activity_types or []
            if types:
                batch = []
                for _ in range(per_project):
                    t = rnd.choice(types)
                    d = start + dt.timedelta(days=rnd.randrange(span + 1))
                    person = t.serves == "person"
                    pool = roster.get(t.population) or anyone
                    batch.append(dict(
                        project_code=code, dedupe_key=key(), attributes={}, entered_at=T0, entered_by="bench",
                        date=d, activity_type=t.key, person_id=rnd.choice(pool) if person else None,
                        participants=None if person else rnd.randint(5, 80),
                        hours=round(rnd.uniform(0.5, 4), 1), town=rnd.choice(TOWNS),
                        district=rnd.choice(["西湖区", "建德市", "淳安县"]), group_name=f"g{rnd.randrange(12)}",
                        level=rnd.choice(["区县", "市级"])))
                    if len(batch) >= 20000:
                        conn.execute(insert(Activity.__table__), batch)
                        counts["activity"] += len(batch)
                        batch = []
                if batch:
                    conn.execute(insert(Activity.__table__), batch)
                    counts["activity"] += len(batch)
            conn.execute(insert(Approval.__table__), [dict(
                project_code=code, dedupe_key=key(), attributes={}, entered_at=T0, entered_by="bench",
                date=start + dt.timedelta(days=10 * i), activity_type=None) for i in range(3)])
            counts["approval"] += 3
            rts = [r.key for r in spec.respondent_types]
            conn.execute(insert(Survey.__table__), [dict(
                project_code=code, dedupe_key=key(), attributes={}, entered_at=T0, entered_by="bench",
                date=start + dt.timedelta(days=rnd.randrange(span + 1)), respondent_type=rnd.choice(rts),
                person_id=rnd.choice(anyone), satisfied=rnd.random() < 0.9) for _ in range(200)])
            counts["survey"] += 200
            if spec.instruments:
                conn.execute(insert(Assessment.__table__), [dict(
                    project_code=code, dedupe_key=key(), attributes={}, entered_at=T0, entered_by="bench",
                    date=start + dt.timedelta(days=rnd.randrange(span + 1)),
                    instrument=rnd.choice(spec.instruments).key, person_id=rnd.choice(anyone),
                    phase=rnd.choice(["pre", "post"]), score=rnd.uniform(40, 100), passed=rnd.random() < 0.85)
                    for _ in range(200)])
                counts["assessment"] += 200
    return counts


DUCK_SQL = {
    # The simple KPIs: per project and type, counts, sums (a person-serving row is 1 participant),
    # distinct people, records of at least 50 participants.
    "simple": """
        SELECT project_code, activity_type, count(*) AS n,
               sum(CASE WHEN person_id IS NOT NULL THEN 1 ELSE participants END) AS people,
               count(DISTINCT person_id) AS persons, sum(CASE WHEN participants >= 50 THEN 1 ELSE 0 END) AS big,
               count(DISTINCT town) AS towns
        FROM activity WHERE retired_at IS NULL AND date <= $as_of
        GROUP BY project_code, activity_type""",
    # Per person per elapsed month over the whole roster.
    "per_person_month": """
        WITH months AS (SELECT DISTINCT date_trunc('month', date) AS m FROM activity
                        WHERE date_trunc('month', date) + INTERVAL 1 MONTH <= $as_of),
             counts AS (SELECT project_code, person_id, date_trunc('month', date) AS m, count(*) AS n
                        FROM activity WHERE retired_at IS NULL AND date <= $as_of AND person_id IS NOT NULL
                        GROUP BY ALL)
        SELECT p.project_code, min(coalesce(c.n, 0)), sum(CASE WHEN coalesce(c.n, 0) < 1 THEN 1 ELSE 0 END)
        FROM person p CROSS JOIN months mo
        LEFT JOIN counts c ON c.project_code = p.project_code AND c.person_id = p.person_id AND c.m = mo.m
        WHERE p.retired_at IS NULL GROUP BY p.project_code""",
    # Approval gate: activities without an approval dated on or before them.
    "gate": """
        SELECT a.project_code, count(*) FILTER (WHERE NOT EXISTS (
            SELECT 1 FROM approval ap WHERE ap.project_code = a.project_code AND ap.retired_at IS NULL
              AND (ap.activity_type IS NULL OR ap.activity_type = a.activity_type) AND ap.date <= a.date))
        FROM activity a WHERE a.retired_at IS NULL AND a.date <= $as_of GROUP BY a.project_code""",
    "rates": """
        SELECT project_code, respondent_type, 100.0 * avg(CASE WHEN satisfied THEN 1 ELSE 0 END)
        FROM survey WHERE retired_at IS NULL AND date <= $as_of GROUP BY ALL""",
}


def duckdb_time(sqlite_path: Path, as_of: dt.date, repeats: int = 3) -> tuple[float, float]:
    """(load seconds, best query seconds) for the hand-written SQL over the same rows in DuckDB."""
    import sqlite3

    import duckdb
    import pandas as pd

    t = time.perf_counter()
    src = sqlite3.connect(sqlite_path)
    con = duckdb.connect()
    cols = {"activity": "project_code, date, activity_type, person_id, participants, town, retired_at",
            "person": "project_code, person_id, population, town, retired_at",
            "approval": "project_code, date, activity_type, retired_at",
            "survey": "project_code, date, respondent_type, satisfied, retired_at"}
    for table, c in cols.items():
        df = pd.read_sql_query(f"SELECT {c} FROM {table}", src)
        df["retired_at"] = df["retired_at"].astype("object")
        if "date" in df:
            df["date"] = pd.to_datetime(df["date"]).dt.date
        if "satisfied" in df:
            df["satisfied"] = df["satisfied"].astype(bool)
        con.register("df", df)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM df")
        con.unregister("df")
    load = time.perf_counter() - t
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for sql in DUCK_SQL.values():
            con.execute(sql, {"as_of": as_of}).fetchall()
        best = min(best, time.perf_counter() - t)
    return load, best


def run(size: int, as_of: dt.date, specs: Path, keep: Path | None) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-progress-")) if keep is None else keep
    db = tmp / f"bench-{size}.db"
    if db.exists():
        db.unlink()
    url = f"sqlite:///{db}"
    ws = open_workspace(url, specs)
    t = time.perf_counter()
    counts = generate(ws, size)
    gen = time.perf_counter() - t
    with ws.engine.begin() as c:
        c.exec_driver_sql("ANALYZE")
    print(f"\n== {counts['activity']:,} activities ({counts}), generated in {gen:.1f} s")
    compute_portfolio(ws, as_of, cap_to_period=True)  # warm-up (page cache, statement cache)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        ps = compute_portfolio(ws, as_of, cap_to_period=True)
        runs.append(time.perf_counter() - t)
    n_kpis = sum(len(p.kpis) for p in ps)
    biggest = max(ws.codes, key=lambda c: len(ws.spec(c).iter_kpis()))
    one = []
    for _ in range(5):
        t = time.perf_counter()
        compute_progress(ws, biggest, min(as_of, ws.spec(biggest).project.period.end))
        one.append(time.perf_counter() - t)
    load, duck = duckdb_time(db, as_of)
    port = min(runs)
    print(f"SQLite portfolio ({len(ps)} projects, {n_kpis} KPIs): best {port * 1000:.0f} ms, "
          f"median {statistics.median(runs) * 1000:.0f} ms  (target ≤ 2000 ms at 1M)")
    print(f"SQLite one project ({biggest}, {len(ws.spec(biggest).iter_kpis())} KPIs): best {min(one) * 1000:.0f} ms, "
          f"median {statistics.median(one) * 1000:.0f} ms  (target ≤ 200 ms at 1M)")
    print(f"DuckDB hand-written SQL (simple aggregates, per person × month, gates, rates), in memory: "
          f"{duck * 1000:.0f} ms (+{load:.1f} s to load)  → SQLite/DuckDB ratio {port / duck:.1f}×")
    dispose_engines()
    if keep is None:
        db.unlink(missing_ok=True)
        for extra in tmp.glob("*"):
            extra.unlink()
        tmp.rmdir()
    return {"portfolio": port, "project": min(one), "duckdb": duck}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="活动记录数，逗号分隔")
    ap.add_argument("--as-of", default="2025-01-15")
    ap.add_argument("--specs", default=str(REPO / "kpi_specs"))
    ap.add_argument("--keep", type=Path, default=None, help="保留生成的数据库到此目录")
    args = ap.parse_args()
    print("machine:", machine())
    os.environ.setdefault("TRACKER_ID_KEY", "bench")
    results = {}
    for s in [int(x) for x in args.sizes.split(",")]:
        results[s] = run(s, dt.date.fromisoformat(args.as_of), Path(args.specs), args.keep)
    if len(results) > 1:
        sizes = sorted(results)
        a, b = sizes[0], sizes[-1]
        print(f"\ngrowth {a:,} → {b:,} activities (×{b / a:.0f}): portfolio ×"
              f"{results[b]['portfolio'] / results[a]['portfolio']:.1f}, one project ×"
              f"{results[b]['project'] / results[a]['project']:.1f}")


if __name__ == "__main__":
    main()
