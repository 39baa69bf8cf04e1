"""Benchmark: other writers during a large import (no write holds the database for long).

Imports N activity rows (default 1,000,000) with ``tracker import`` in its own process; once that
import is staging, runs a ``tracker log``, a ``tracker judge`` and a 20,000-row ``tracker import`` at the
same time, and on SQLite probes the write lock every 0.5 s (``BEGIN IMMEDIATE``). Prints how long each
took, whether each finished before the large import was published, the longest wait for the write
lock, and checks the final counts.

    .venv/bin/python bench/bench_staging.py [--rows 1000000] [--small 20000] [--pg URL]
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_import as B

TRACKER = Path(sys.executable).parent / "tracker"
MANUAL = """  - clause: 2
    text: 建立服务档案制度
    kpis:
      - {key: rules, kind: manual, label: 档案制度, unit: 项}
"""


def _csv(path: Path, start: int, n: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(B.HEADER)
        for i in range(start, start + n):
            w.writerow(B.activity_row(i))
    return path


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    from sqlalchemy import create_engine, text

    e = create_engine(url)
    try:
        with e.connect() as c:
            return [tuple(r) for r in c.execute(text(sql))]
    finally:
        e.dispose()


def run(url: str, work: Path, rows: int, small: int) -> None:
    env = {**os.environ, "TRACKER_DB_URL": url, "TRACKER_SPECS": str(work / "specs"), "TRACKER_ID_KEY": "bench-key",
           "TRACKER_DATA": str(work / "data")}
    sh = lambda *a: subprocess.run([str(TRACKER), *a], env=env, capture_output=True, text=True, check=True)  # noqa: E731
    sh("import", str(work / "roster.csv"), "--project", B.CODE)
    big = work / "activities.csv"
    t0 = time.monotonic()
    proc = subprocess.Popen([str(TRACKER), "import", str(big), "--project", B.CODE], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    while not _query(url, "SELECT id FROM importbatch WHERE published_at IS NULL"):
        if proc.poll() is not None:
            raise SystemExit(proc.communicate())
        time.sleep(0.1)
    staged_at = time.monotonic() - t0
    others = {
        "tracker log": ["log", "activity", "--project", B.CODE, "--日期", "2025-06-30", "--活动类型", "培训",
                        "--参与人数", "3", "--小组名称", "基准外的一场"],
        "tracker judge": ["judge", f"{B.CODE}.2.rules", "--verdict", "met", "--evidence", "档案制度已核查",
                          "--author", "基准"],
        f"import {small:,} rows": ["import", str(work / "small.csv"), "--project", B.CODE],
    }
    s0 = time.monotonic()
    running = {k: subprocess.Popen([str(TRACKER), *a], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True) for k, a in others.items()}
    done: dict[str, tuple[float, bool]] = {}

    def wait(k: str, p: subprocess.Popen[str]) -> None:  # each command timed by its own thread
        _, perr = p.communicate()
        t = time.monotonic() - s0
        done[k] = (t, bool(_query(url, "SELECT id FROM importbatch WHERE published_at IS NULL")))
        if p.returncode != 0:
            done[k] = (t, False)
            print(f"{k} failed: {perr}")

    threads = [threading.Thread(target=wait, args=kv) for kv in running.items()]
    for th in threads:
        th.start()
    waits: list[float] = []
    while proc.poll() is None:
        if url.startswith("sqlite"):
            c = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=300, isolation_level=None)
            a = time.monotonic()
            c.execute("BEGIN IMMEDIATE")
            c.execute("COMMIT")
            waits.append(time.monotonic() - a)
            c.close()
        time.sleep(0.5)
    for th in threads:
        th.join()
    _, err = proc.communicate()
    total = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(err)
    print(f"  large import of {rows:,} rows: {total:.1f} s ({rows / total:,.0f} rows/s), staging from {staged_at:.1f} s")
    for k, (t, before) in done.items():
        print(f"  {k:22s} {t:6.1f} s after it started; {'before' if before else 'AFTER'} the large import was published")
    if waits:
        waits.sort()
        print(f"  write-lock probes: {len(waits)}, median wait {waits[len(waits) // 2]:.3f} s, max {waits[-1]:.3f} s")
    n = _query(url, f"SELECT count(*) FROM activity WHERE project_code = '{B.CODE}'")[0][0]
    j = _query(url, "SELECT count(*) FROM judgement")[0][0]
    print(f"  activities {n:,} (expected {rows + small + 1:,}), judgements {j} (expected 1)")
    if n != rows + small + 1 or j != 1:
        raise SystemExit("final counts are wrong")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=20_000)
    ap.add_argument("--pg", default=os.environ.get("TRACKER_TEST_PG_URL"))
    a = ap.parse_args()
    print(B.machine())
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        B.generate(work, a.rows, 10)
        spec = work / "specs" / "B900.yaml"
        spec.write_text(spec.read_text("utf-8").rstrip("\n") + "\n" + MANUAL, "utf-8")
        _csv(work / "small.csv", 3 * a.rows, a.small)
        targets = [("SQLite", f"sqlite:///{work / 'bench.db'}")]
        if a.pg:
            targets.append(("PostgreSQL", B.fresh_pg(a.pg)))
        for name, url in targets:
            print(name)
            run(url, work, a.rows, a.small)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
