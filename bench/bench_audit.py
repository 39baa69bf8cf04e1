"""Benchmark: ``tracker audit verify`` over 1M records and their history.

Imports N activity rows (bench_import's generator, in batches of ``--batch`` rows), amends and voids
a few hundred of them, adds notes, then times ``verify`` (the chain and every row against it) on
SQLite (and PostgreSQL with --pg URL or TRACKER_TEST_PG_URL). Target: 1M records ≤ 30 s.

    .venv/bin/python bench/bench_audit.py [--rows 1000000] [--batch 250000] [--pg URL]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import CODE, HEADER, PEOPLE, SPEC, TOWNS, activity_row, fresh_pg, machine


def build(url: str, work: Path, rows: int, batch: int) -> None:
    from tracker.records import amend, import_file, void
    from tracker.workspace import open_workspace

    ws = open_workspace(url, work / "specs")
    roster = work / "roster.csv"
    import_file(ws, roster, CODE, entered_by="bench")
    t = time.perf_counter()
    for k, start in enumerate(range(0, rows, batch)):
        path = work / f"part{k}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["记录编号", *HEADER])
            for i in range(start, min(rows, start + batch)):
                w.writerow([f"R{i}", *activity_row(i)])
        import_file(ws, path, CODE, entered_by="bench")
        path.unlink()
    print(f"  imported {rows:,} rows in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    for i in range(0, 300):
        amend(ws, CODE, "activity", f"R{i * 997 % rows}", {"备注": f"复核{i}"}, reason="复核", author="bench")
    for i in range(0, 100):
        void(ws, CODE, "activity", f"R{(i * 991 + 1) % rows}", reason="重复", author="bench")
    print(f"  300 amendments and 100 voids in {time.perf_counter() - t:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=250_000)
    ap.add_argument("--pg", default=os.environ.get("TRACKER_TEST_PG_URL"))
    a = ap.parse_args()
    os.environ.setdefault("TRACKER_ID_KEY", "bench-key")
    print(machine())
    from tracker.audit import verify
    from tracker.db.connection import get_engine

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "specs").mkdir()
        (work / "specs" / "B900.yaml").write_text(SPEC, "utf-8")
        with (work / "roster.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["服务对象编号", "姓名", "人群", "乡镇街道"])
            for p in range(PEOPLE):
                w.writerow([f"P{p:05d}", f"老人{p}", "留守独居等困难老人", TOWNS[p % len(TOWNS)]])
        targets = [("SQLite", f"sqlite:///{work / 'bench.db'}")]
        if a.pg:
            targets.append(("PostgreSQL", fresh_pg(a.pg)))
        for name, url in targets:
            print(name)
            build(url, work, a.rows, a.batch)
            engine = get_engine(url)
            for run in (1, 2):
                t = time.perf_counter()
                r = verify(engine)
                secs = time.perf_counter() - t
                print(f"  verify run {run}: {secs:.1f} s, {r.entries:,} entries, {r.rows_checked:,} rows, ok={r.ok}")
                if not r.ok:
                    raise SystemExit(r.summary())


if __name__ == "__main__":
    main()
