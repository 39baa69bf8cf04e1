"""The machine a benchmark ran on, in one line: figures mean nothing without it."""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path


def describe() -> str:
    cpu, mem_gib = platform.processor() or "?", 0.0
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), cpu)
        mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal"))
        mem_gib = mem_kb / 1024 / 1024
    except (OSError, StopIteration):
        pass
    return (f"nproc={os.cpu_count()}  CPU={cpu}  RAM={mem_gib:.1f} GiB  Python {platform.python_version()}  "
            f"SQLite {sqlite3.sqlite_version}  {platform.platform()}")
