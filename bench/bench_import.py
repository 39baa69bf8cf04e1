"""Benchmark: importing activity records (issue #3).

Generates its own data (a fixture spec with a 1,500-person roster, then N activity rows as CSV and
M rows as XLSX), imports them into SQLite (and PostgreSQL when --pg URL or TRACKER_TEST_PG_URL is
given), re-imports the same file (must add nothing), then imports a second CSV of as many other
rows into the now full table, and prints rows/s, peak RSS and the machine.
Each import runs in a child process so that its peak RSS is its own.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--xlsx-rows 100000] [--pg URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """spec_version: 1
project:
  code: 2099B900
  name: 基准测试项目
  category: 为老服务类
  funding: {amount_wan: 30}
  area: [建德市]
  period: {start: 2024-01-01, end: 2025-12-31}
populations:
  - {key: elders, label: 留守独居等困难老人, expected: 1500}
activity_types:
  - {key: home_visit, label: 上门探访, serves: person, population: elders}
  - {key: care_service, label: 陪聊照护代办服务, serves: person, population: elders}
  - {key: training, label: 培训, serves: group, hours: true}
clauses:
  - clause: 1
    text: 探访不少于1万人次
    kpis:
      - {key: visits, kind: count, label: 探访人次, where: {types: [home_visit]}, target: 10000, unit: 人次}
"""
CODE = "2099B900"
PEOPLE = 1500
TOWNS = ["新安江街道", "洋溪街道", "更楼街道", "莲花镇", "乾潭镇", "梅城镇", "寿昌镇", "航头镇", "大洋镇", "杨村桥镇"]
# 小组名称 names each training session: two trainings at one place on one day are told apart by it
HEADER = ["日期", "活动类型", "服务对象编号", "参与人数", "时长（小时）", "乡镇街道", "地点", "工作人员", "小组名称"]


def activity_row(i: int) -> list[object]:
    start = dt.date(2024, 1, 1)
    p = i % PEOPLE
    day = start + dt.timedelta(days=(i // PEOPLE) % 700)
    kind = (i // (PEOPLE * 700)) % 3
    town = TOWNS[p % len(TOWNS)]
    if kind == 2 or i % 10 == 9:  # every tenth row a group training
        return [day.isoformat(), "培训", "", 10 + i % 40, 2, town, f"活动点{p}", f"社工{p % 30:02d}", f"第{i}场"]
    typ = "上门探访" if kind == 0 else "陪聊照护代办服务"
    return [day.isoformat(), typ, f"P{p:05d}", "", 1, town, "", f"社工{p % 30:02d}", ""]


def generate(work: Path, rows: int, xlsx_rows: int) -> tuple[Path, Path, Path, Path]:
    import csv

    (work / "specs").mkdir(parents=True, exist_ok=True)
    (work / "specs" / "B900.yaml").write_text(SPEC, "utf-8")
    roster = work / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["服务对象编号", "姓名", "人群", "乡镇街道"])
        for p in range(PEOPLE):
            w.writerow([f"P{p:05d}", f"老人{p}", "留守独居等困难老人", TOWNS[p % len(TOWNS)]])
    big = work / "activities.csv"
    with big.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            w.writerow(activity_row(i))
    more = work / "activities-2.csv"  # as many other rows: an import into a table that is not empty
    with more.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows + xlsx_rows, 2 * rows + xlsx_rows):
            w.writerow(activity_row(i))
    from openpyxl import Workbook

    xlsx = work / "activities.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("活动记录")
    ws.append(HEADER)
    for i in range(rows, rows + xlsx_rows):  # rows the CSV does not have
        r = activity_row(i)
        r[0] = dt.date.fromisoformat(str(r[0]))  # real Excel date cells
        ws.append(r)
    wb.save(xlsx)
    return roster, big, more, xlsx


def child(db_url: str, specs: str, path: str) -> None:
    """Runs in a child process: one import, prints JSON figures."""
    from tracker.records import import_file
    from tracker.workspace import open_workspace

    ws = open_workspace(db_url, Path(specs))
    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    r = import_file(ws, Path(path), CODE, entered_by="bench")
    secs = time.perf_counter() - t
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of this process during the import and of the worker (comparable on a loaded machine)
    cpu = own.ru_utime + own.ru_stime - before.ru_utime - before.ru_stime
    worker_cpu = kids.ru_utime + kids.ru_stime
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the worker process that reads and checks the file (fork: it shares the parent's pages until
    # either writes them, so main + worker is an upper bound of the memory both use)
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"rows": r.rows_total, "imported": r.imported, "unchanged": r.unchanged,
                      "invalid": r.invalid_rows, "seconds": round(secs, 2),
                      "rows_per_s": round(r.rows_total / secs), "peak_rss_mb": round(peak_mb),
                      "worker_rss_mb": round(worker_mb), "cpu_s": round(cpu, 2), "worker_cpu_s": round(worker_cpu, 2),
                      "load": round(os.getloadavg()[0], 1)}))


def run_child(db_url: str, specs: Path, path: Path) -> dict[str, object]:
    env = {**os.environ, "TRACKER_ID_KEY": "bench-key"}
    p = subprocess.run([sys.executable, __file__, "--child", db_url, str(specs), str(path)], env=env,
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def machine() -> str:
    from machine import describe  # bench/machine.py, beside this script

    return describe()


def fresh_pg(url: str) -> str:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
        version = c.execute(text("SHOW server_version")).scalar()
    admin.dispose()
    print(f"PostgreSQL {version}")
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--pg", default=os.environ.get("TRACKER_TEST_PG_URL"))
    ap.add_argument("--child", nargs=3)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        roster, big, more, xlsx = generate(work, a.rows, a.xlsx_rows)
        print(f"generated {a.rows:,} CSV rows ({big.stat().st_size / 1e6:.0f} MB) and {a.xlsx_rows:,} XLSX rows "
              f"({xlsx.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
        targets = [("SQLite", f"sqlite:///{work / 'bench.db'}")]
        if a.pg:
            targets.append(("PostgreSQL", fresh_pg(a.pg)))
        for name, url in targets:
            run_child(url, work / "specs", roster)
            for label, path in [("CSV", big), ("CSV again", big), ("XLSX", xlsx), ("XLSX again", xlsx),
                                ("CSV 2nd file", more)]:
                r = run_child(url, work / "specs", path)
                if label.endswith("again") and (r["imported"] or r["unchanged"] != r["rows"]):
                    raise SystemExit(f"re-importing {path.name} changed the database: {r}")
                print(f"{name:10s} {label:12s} rows={r['rows']:>9,} imported={r['imported']:>9,} "
                      f"unchanged={r['unchanged']:>9,} {r['seconds']:>7.2f} s {r['rows_per_s']:>8,} rows/s "
                      f"peak RSS {r['peak_rss_mb']} MB (worker {r['worker_rss_mb']} MB) "
                      f"CPU {r['cpu_s']:.1f} s (worker {r['worker_cpu_s']:.1f} s) load {r['load']}")


if __name__ == "__main__":
    main()
