"""Benchmark: how long ``tracker`` takes to start, each command as a whole process (CPU and wall).

    .venv/bin/python bench/bench_startup.py [--runs 5] [--project 2024B004E]

1. ``tracker --help``;
2. ``tracker spec validate`` with a warm spec cache (one run beforehand fills it);
3. ``tracker progress --project X`` on the demo database (``tracker demo --no-pdf`` into a temporary
   directory first, with its own spec cache, also warm).

Targets: ``--help`` under 0.3 s of CPU; progress of one project under 1 s wall. CPU is user + system
time of the child process (``resource.getrusage(RUSAGE_CHILDREN)``), wall the elapsed time. Each
figure is the median and range over ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRACKER = Path(sys.executable).with_name("tracker")


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([str(TRACKER), *args], env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(name: str, args: list[str], env: dict[str, str], runs: int) -> None:
    run(args, env)  # warm: page cache, spec cache
    cpus, walls = zip(*(run(args, env) for _ in range(runs)), strict=True)
    print(f"{name:34}  CPU {statistics.median(cpus):5.2f} s ({min(cpus):.2f}–{max(cpus):.2f})"
          f"   wall {statistics.median(walls):5.2f} s ({min(walls):.2f}–{max(walls):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--project", default="2024B004E")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import describe

    print(describe())
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TRACKER_DATA": f"{tmp}/data", "TRACKER_SPECS": str(REPO / "kpi_specs"),
               "TRACKER_CACHE": f"{tmp}/cache", "TRACKER_ID_KEY": "bench-key-not-secret"}
        env.pop("TRACKER_DB_URL", None)
        measure("tracker --help", ["--help"], env, a.runs)
        measure("tracker spec validate (warm cache)", ["spec", "validate"], env, a.runs)
        db = f"sqlite:///{tmp}/demo.db"
        t0 = time.perf_counter()
        subprocess.run([str(TRACKER), "demo", "--no-pdf", "--db", db, "--out", f"{tmp}/demo"], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"(demo database of every project built in {time.perf_counter() - t0:.1f} s)")
        measure(f"tracker progress --project {a.project}", ["progress", "--project", a.project,
                                                            "--as-of", "2024-11-15"],
                {**env, "TRACKER_DB_URL": db}, a.runs)


if __name__ == "__main__":
    main()
