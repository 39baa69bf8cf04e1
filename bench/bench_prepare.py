"""Benchmark: reading and checking activity rows without a database (issue #3).

The import of a large file reads and checks chunks (``Source.chunks`` + ``validate.prepare``) in a
worker process while the main process writes; that side must keep well ahead of 100,000 rows/s.
This generates N activity rows as CSV (the rows of bench/bench_import.py), then times the reading
alone and the reading plus ``prepare``, and prints seconds, rows/s and the machine (and the CPU
seconds of ``prepare``: on a shared two-core machine the wall-clock figures move with other load).

    .venv/bin/python bench/bench_prepare.py [--rows 1000000] [--chunk 50000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import CODE, HEADER, PEOPLE, SPEC, activity_row
from machine import describe

from tracker.kpispec.loader import parse_spec_text
from tracker.records.columns import KINDS, match_headers
from tracker.records.reader import open_source
from tracker.records.validate import Context, prepare


def write_rows(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            w.writerow(activity_row(i))
    return path


def context() -> Context:
    spec, problems = parse_spec_text(SPEC)
    if spec is None:
        raise SystemExit(f"基准规格无效：{problems}")
    roster: dict[str, str | None] = {f"P{p:05d}": "elders" for p in range(PEOPLE)}
    return Context(CODE, spec, KINDS["activity"], roster=roster)


def read_only(path: Path, chunk: int) -> tuple[float, int]:
    src = open_source(path)
    t = time.perf_counter()
    n = sum(len(df) for df, _ in src.chunks(chunk))
    return time.perf_counter() - t, n


def read_and_prepare(path: Path, chunk: int) -> tuple[float, float, float, int, int]:
    """(seconds in all, seconds in prepare, CPU seconds in prepare, rows, invalid rows)."""
    src = open_source(path)
    positions = match_headers(KINDS["activity"], src.headers)
    ctx = context()
    in_prepare = cpu_prepare = 0.0
    n = invalid = 0
    t = time.perf_counter()
    for raw, rows in src.chunks(chunk):
        df = raw.rename(columns=lambda i: positions.get(i, f"__ignored_{i}"))
        t0, c0 = time.perf_counter(), time.process_time()
        prep = prepare(df, rows, ctx)
        in_prepare += time.perf_counter() - t0
        cpu_prepare += time.process_time() - c0
        n += prep.n
        invalid += len(prep.errors)
    return time.perf_counter() - t, in_prepare, cpu_prepare, n, invalid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--profile", action="store_true", help="cProfile of reading + prepare (top 25 by own time)")
    a = ap.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path = write_rows(Path(tmp) / "activities.csv", a.rows)
        print(f"generated {a.rows:,} activity rows ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t:.0f} s; chunks of {a.chunk:,}")
        if a.profile:
            prof = cProfile.Profile()
            prof.runcall(read_and_prepare, path, a.chunk)
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            return
        secs_read, n = read_only(path, a.chunk)
        total, secs_prep, cpu_prep, n2, invalid = read_and_prepare(path, a.chunk)
        assert n == n2, (n, n2)
        per_m = 1_000_000 / n
        print(f"reading only      {secs_read:7.2f} s  {n / secs_read:>10,.0f} rows/s  ({secs_read * per_m:.2f} s per 1M rows)")
        print(f"prepare only      {secs_prep:7.2f} s  {n / secs_prep:>10,.0f} rows/s  ({secs_prep * per_m:.2f} s per 1M rows,"
              f" CPU {cpu_prep * per_m:.2f} s)")
        print(f"reading + prepare {total:7.2f} s  {n / total:>10,.0f} rows/s  ({total * per_m:.2f} s per 1M rows)"
              f"  invalid rows: {invalid:,}")


if __name__ == "__main__":
    main()
