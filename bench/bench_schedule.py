"""Benchmark: the scheduler's outbox (issue #6).

Makes N fixture projects (2024-06..2025-03, 3 contacts each, plus one bureau digest recipient), then
on SQLite (and PostgreSQL with --pg URL or TRACKER_TEST_PG_URL):

1. plans everything due by 2025-04-01 into the outbox (every monthly email, mid-term, final, digest),
2. plans again (all conflicts: must insert nothing) — the cost of a repeated tick's planning,
3. sends one month (October 2024) to a loopback SMTP server: N progress computations + N PDF reports
   + 3N emails, and reports messages/s.

    .venv/bin/python bench/bench_schedule.py [--projects 40] [--pg URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def machine() -> str:
    from machine import describe  # bench/machine.py, beside this script

    return describe()


def make_specs(n: int, out: Path) -> None:
    base = (REPO / "tests/fixtures/schedule/D901.yaml").read_text("utf-8")
    for i in range(n):
        code = f"2099C{i:03d}"
        (out / f"C{i:03d}.yaml").write_text(base.replace("2099D901", code), "utf-8")


def run(url: str, specs: Path, n: int) -> None:
    from schedule_support import FAST, LoopbackSmtp, d

    from tracker.db.outbox import Outbox
    from tracker.scheduling.contacts import add_contact
    from tracker.scheduling.tick import plan, tick
    from tracker.workspace import open_workspace

    ws = open_workspace(url, specs)
    for code in ws.codes:
        for j, role in enumerate(("ngo", "ngo", "bureau")):
            add_contact(ws, code, role, "测试", f"{code.lower()}-{j}@example.org", since=d("2024-06-01"))
    add_contact(ws, None, "bureau", "测试", "digest@example.org", since=d("2024-06-01"))
    t = time.perf_counter()
    rows = plan(ws, d("2025-04-01"), FAST)
    t1 = time.perf_counter() - t
    t = time.perf_counter()
    again = plan(ws, d("2025-04-01"), FAST)
    t2 = time.perf_counter() - t
    print(f"  plan: {rows} rows in {t1:.2f} s ({rows / t1:,.0f} rows/s); re-plan inserted {again} in {t2:.2f} s")
    from sqlalchemy import update

    with ws.engine.begin() as c:  # send only October 2024's monthly emails
        c.execute(update(Outbox).where(~((Outbox.kind == "monthly") & (Outbox.period == "2024-10")))
                  .values(state="sent"))
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        t = time.perf_counter()
        sent = tick(ws, d("2025-04-01"), smtp=smtp.settings(), settings=FAST)
        t3 = time.perf_counter() - t
    finally:
        smtp.stop()
    ok = sum(r.state == "sent" for r in sent)
    print(f"  send one month: {ok} emails ({n} projects: progress + PDF each) in {t3:.1f} s "
          f"= {ok / t3:.1f} emails/s, {t3 / n:.2f} s per project")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=40)
    ap.add_argument("--pg", default=os.environ.get("TRACKER_TEST_PG_URL"))
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        specs = Path(tmp) / "specs"
        specs.mkdir()
        make_specs(args.projects, specs)
        print(f"SQLite ({args.projects} projects):")
        run(f"sqlite:///{tmp}/bench.db", specs, args.projects)
        if args.pg:
            sys.path.insert(0, str(REPO / "tests"))
            from conftest import drop_pg_database, new_pg_database

            url = new_pg_database()
            try:
                print(f"PostgreSQL ({args.projects} projects):")
                run(url, specs, args.projects)
            finally:
                drop_pg_database(url)
    print(f"date: {dt.date.today()}")


if __name__ == "__main__":
    main()
