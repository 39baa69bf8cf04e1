"""Profile one project's report: CPU seconds (``time.process_time``, comparable under load) of every
project's mid-term report, then a cProfile of the slowest one (or ``--code``).

    .venv/bin/python bench/profile_report.py [--db URL] [--code 2024A001] [--which midterm] [--top 30]

Without ``--db`` the 2024 portfolio is simulated (scale 1.0, as of 2024-11-15) into a fresh SQLite
database, as ``bench_reports.py`` does; ``--keep PATH`` keeps that database for the next run.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    ap.add_argument("--keep", default=None, help="simulate into this SQLite file (reused when it exists)")
    ap.add_argument("--code", default=None)
    ap.add_argument("--which", default="midterm", choices=["midterm", "final"])
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()

    from tracker.reports import render_project_report
    from tracker.workspace import open_workspace

    tmp = Path(tempfile.mkdtemp(prefix="profile-report-"))
    url = args.db
    fresh = False
    if url is None:
        path = Path(args.keep) if args.keep else tmp / "bench.db"
        fresh = not path.exists()
        url = f"sqlite:///{path}"
    ws = open_workspace(url, REPO / "kpi_specs")
    if fresh:
        from tracker.simulate import simulate

        as_of = dt.date(2024, 11, 15) if args.which == "midterm" else dt.date(2025, 6, 30)
        simulate(ws, as_of=as_of, scale=1.0)
    out = tmp / "out"
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    cpu: dict[str, float] = {}
    codes = [args.code] if args.code else ws.codes
    render_project_report(ws, codes[0], args.which, None, out)  # warm: imports, fonts, spec cache
    for code in codes:
        t = time.process_time()
        render_project_report(ws, code, args.which, None, out)
        cpu[code] = time.process_time() - t
    slowest = max(cpu, key=lambda c: cpu[c])
    print(f"CPU per report: median {statistics.median(cpu.values()):.2f} s, max {cpu[slowest]:.2f} s ({slowest})")
    for code, t in sorted(cpu.items(), key=lambda x: -x[1])[:5]:
        print(f"  {code}: {t:.2f} s")
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    render_project_report(ws, slowest, args.which, None, out)
    prof.disable()
    stats = pstats.Stats(prof)
    print(f"profile of {slowest} (CPU seconds, total {stats.total_tt:.2f}):")  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(args.top)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
