"""Benchmark: a cumulative ledger of 20,000 rows imported again with its monthly changes (ledger sync).

Generates a fixture spec with a 500-person roster and an XLSX ledger of home visits (序号, 日期,
活动类型, 服务对象编号, 工作人员, 备注; 20,000 rows) kept as a workbook of 12 sheets (``--sheets``, one
per block of rows, the way NGOs keep one sheet per month; every sheet is read into one batch),
imports it once, then imports the next month's version: 200 rows changed (备注), 300 rows added,
100 rows deleted, retired with ``sync=True``. The figure is the time of that second import (the
sync), which must stay under 3 s; the dry run of the same file is timed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import fresh_pg, machine

SPEC = """spec_version: 1
project:
  code: 2099B901
  name: 台账基准项目
  category: 为老服务类
  funding: {amount_wan: 30}
  area: [建德市]
  period: {start: 2024-01-01, end: 2025-12-31}
populations:
  - {key: elders, label: 留守独居等困难老人, expected: 500}
activity_types:
  - {key: home_visit, label: 上门探访, serves: person, population: elders}
clauses:
  - clause: 1
    text: 探访不少于1万人次
    kpis:
      - {key: visits, kind: count, label: 探访人次, where: {types: [home_visit]}, target: 10000, unit: 人次}
"""
CODE = "2099B901"
PEOPLE = 500


def rows(n: int, start: int = 0) -> list[list[object]]:
    out = []
    for i in range(start, start + n):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i // PEOPLE)
        out.append([day, "上门探访", f"P{i % PEOPLE:04d}", f"社工{i % 20:02d}", ""])
    return out


def write(path: Path, data: list[list[object]], sheets: int = 1) -> Path:
    """The rows over ``sheets`` sheets (第1月 … 第12月), each with its header and its own 序号."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    per = -(-len(data) // sheets)
    for k in range(sheets):
        ws = wb.create_sheet(f"第{k + 1}月" if sheets > 1 else "服务台账")
        ws.append(["序号", "日期", "活动类型", "服务对象编号", "工作人员", "备注"])
        for i, r in enumerate(data[k * per:(k + 1) * per], start=1):
            ws.append([i, *r])
    wb.save(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--sheets", type=int, default=12)
    ap.add_argument("--pg", default=os.environ.get("TRACKER_TEST_PG_URL"))
    a = ap.parse_args()
    os.environ.setdefault("TRACKER_ID_KEY", "bench-key")
    print(machine())
    from tracker.records import import_file, import_rows
    from tracker.workspace import open_workspace

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "specs").mkdir()
        (work / "specs" / "B901.yaml").write_text(SPEC, "utf-8")
        first = rows(a.rows)
        nxt = [list(r) for r in first]
        step = max(1, a.rows // 2 // 200)
        for k in range(a.rows // 2, a.rows // 2 + 200 * step, step):  # 200 edited 备注 in the second half
            nxt[k][4] = "家属在场"
        q = a.rows // 4
        del nxt[q:q + 100]  # 100 rows deleted in the first half
        nxt += rows(300, start=a.rows)  # 300 new rows
        f1 = write(work / "台账.xlsx", first, a.sheets)
        f2 = write(work / "台账-下月.xlsx", nxt, a.sheets)
        targets = [("SQLite", f"sqlite:///{work / 'bench.db'}")]
        if a.pg:
            targets.append(("PostgreSQL", fresh_pg(a.pg)))
        for name, url in targets:
            ws = open_workspace(url, work / "specs")
            import_rows(ws, CODE, "roster", [{"服务对象编号": f"P{p:04d}", "人群": "留守独居等困难老人"}
                                             for p in range(PEOPLE)], source_name="名册")
            t = time.perf_counter()
            r = import_file(ws, f1, CODE)
            t1 = time.perf_counter() - t
            t = time.perf_counter()
            d = import_file(ws, f2, CODE, dry_run=True)
            t2 = time.perf_counter() - t
            t = time.perf_counter()
            s = import_file(ws, f2, CODE, sync=True)
            t3 = time.perf_counter() - t
            assert (r.imported, s.imported, s.changed, s.unchanged, s.retired) == (
                a.rows, 300, 200, a.rows - 300, 100), s.summary()
            assert (d.imported, d.changed, d.disappeared) == (300, 200, 100)
            print(f"{name}: {a.sheets} sheets; first import {a.rows:,} rows {t1:.2f} s; dry run of the next month {t2:.2f} s; "
                  f"sync (300 new, 200 changed, 100 retired) {t3:.2f} s")
            ws.engine.dispose()


if __name__ == "__main__":
    main()
