"""Benchmark: every project's mid-term (or final) report, HTML + PDF, and the portfolio.

    .venv/bin/python bench/bench_reports.py [--which midterm|final] [--scale 1.0] [--db URL] [--out DIR]

Simulates the whole 2024 portfolio (tracker.simulate, all specs under kpi_specs/) into a fresh SQLite
database unless ``--db`` names one that already holds records, then times each step and prints the
machine (nproc, CPU model, RAM). Falls back to the report tests' fixture data when the simulator or
the specs are not usable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def machine() -> str:
    from machine import describe  # bench/machine.py, beside this script

    return describe()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--which", default="midterm", choices=["midterm", "final"])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--db", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--all", action="store_true", help="also time render_all (tracker report --all)")
    ap.add_argument("--only-all", action="store_true", help="time render_all only")
    args = ap.parse_args()
    import os

    args.load = f"{os.getloadavg()[0]:.1f}"
    args.all = args.all or args.only_all

    from tracker.reports import render_portfolio, render_project_report
    from tracker.workspace import open_workspace

    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    out = Path(args.out) if args.out else tmp / "out"
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    source = ""
    t0 = time.perf_counter()
    try:
        ws = open_workspace(url, REPO / "kpi_specs")
        if not args.db:
            from tracker.simulate import simulate

            as_of = dt.date(2024, 11, 15) if args.which == "midterm" else dt.date(2025, 6, 30)
            s = simulate(ws, as_of=as_of, scale=args.scale)
            source = f"simulated portfolio (scale {args.scale}, as of {as_of}): {dict(s.counts)}"
        else:
            source = f"existing database {args.db}"
    except Exception as e:  # the simulator or a spec not ready: time the fixture data instead
        print(f"simulator unavailable ({type(e).__name__}: {e}); using the report fixtures", file=sys.stderr)
        sys.path.insert(0, str(REPO / "tests" / "fixtures" / "reports"))
        import seed

        url = f"sqlite:///{tmp / 'fixture.db'}"
        ws = open_workspace(url, REPO / "tests" / "fixtures" / "reports")
        seed.seed(ws.engine, late=True)
        source = "fixture data (tests/fixtures/reports)"
    t_data = time.perf_counter() - t0

    times: list[float] = []
    failures: list[str] = []
    t1 = time.perf_counter()
    for code in ([] if args.only_all else ws.codes):
        t = time.perf_counter()
        try:
            render_project_report(ws, code, args.which, None, out)
        except Exception as e:
            failures.append(f"{code}: {type(e).__name__}: {e}")
            continue
        times.append(time.perf_counter() - t)
    t_projects = time.perf_counter() - t1
    t2 = time.perf_counter()
    if not args.only_all:
        render_portfolio(ws, args.which, None, out)
    t_portfolio = time.perf_counter() - t2

    print(f"machine: {machine()}")
    print(f"data: {source}  ({t_data:.1f} s to prepare)")
    print(f"{args.which} reports: {len(times)} of {len(ws.codes)} projects in {t_projects:.1f} s "
          f"(per report: median {statistics.median(times):.2f} s, max {max(times):.2f} s)" if times else "none")
    print(f"portfolio (XLSX + PDF): {t_portfolio:.1f} s")
    print(f"total for all reports: {t_projects + t_portfolio:.1f} s   output: {out}")
    for f in failures:
        print(f"FAILED {f}")
    if args.all:  # what `tracker report --all` does: one progress per project, worker processes
        import os

        from tracker.reports.batch import render_all, workers_for

        t3 = time.perf_counter()
        batch = render_all(ws, args.which, out / "all")
        t_all = time.perf_counter() - t3
        print(f"render_all ({workers_for(len(ws.codes), True, str(ws.engine.url))} workers, "
              f"load average before {args.load}, after {os.getloadavg()[0]:.1f}): {len(batch.files)} reports + "
              f"portfolio in {t_all:.1f} s")


if __name__ == "__main__":
    main()
