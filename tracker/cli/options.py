"""What every command group shares: the workspace, and dates and times typed on the command line.

Dates may be written as in the import files: ``2024-06-01``, ``2024/6/1``, ``2024.6.1`` or
``2024年6月1日``. ``--as-known-on`` takes a date (known by the end of that day, Beijing time) or a
moment (``2024-11-15T18:00``, Beijing time unless an offset such as ``+08:00`` or ``Z`` is given).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tracker import clock
from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.workspace import Workspace

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def workspace() -> Workspace:
    """The workspace named by the environment (specs loaded, database migrated, projects synced)."""
    from tracker.workspace import open_workspace

    return open_workspace()


def parse_date(text: str, option: str = "--as-of") -> dt.date:
    m = _DATE.match(text.strip())
    try:
        if not m:
            raise ValueError(text)
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise TrackerError(f"{option} 的值 “{text}” 不是日期：请写成 YYYY-MM-DD，如 2024-11-15（也可写 2024/11/15、2024年11月15日）") from None


def optional_date(text: str | None, option: str = "--as-of") -> dt.date | None:
    return None if text is None else parse_date(text, option)


def parse_known_on(text: str, option: str = "--as-known-on") -> dt.datetime:
    """A bare date → the end of that day, Beijing time; a moment → that moment."""
    s = text.strip()
    if _DATE.match(s):
        d = parse_date(s, option)
        return clock.end_of_day(d)
    try:
        v = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise TrackerError(f"{option} 的值 “{text}” 不是日期或时间：请写成 2024-11-15 或 2024-11-15T18:00") from None
    return clock.aware(v)


def optional_known_on(text: str | None, option: str = "--as-known-on") -> dt.datetime | None:
    return None if text is None else parse_known_on(text, option)


def output_dir(path: Path | None, option: str = "--out") -> Path | None:
    """An output directory given on the command line: created when missing, never a file."""
    if path is None:
        return None
    if path.exists() and not path.is_dir():
        raise TrackerError(f"{option} 应为目录，而 {path} 是一个文件：请换一个目录（不存在时会自动创建）")
    _writable(path, option)
    return path


def output_file(path: Path | None, option: str = "--out", example: str = "输出.xlsx") -> Path | None:
    """An output file given on the command line: not a directory, in a directory that can be written."""
    if path is None:
        return None
    if path.is_dir():
        raise TrackerError(f"{option} 应为文件名，而 {path} 是目录：请写成 {path / example} 这样的文件路径")
    _writable(path.parent, option)
    return path


def _writable(path: Path, option: str) -> None:
    p = path.absolute()
    while not p.exists():  # the nearest existing ancestor decides
        p = p.parent
    if not p.is_dir():
        raise TrackerError(f"{option} 的路径 {path} 无法创建：其中的 {p} 是文件而不是目录")
    if not os.access(p, os.W_OK | os.X_OK):
        raise TrackerError(f"{option} 的路径 {path} 不可写：没有目录 {p} 的写权限，请换一个位置")
