"""What every command group shares: the workspace, output paths, and dates and times typed on the
command line (read by ``tracker.clock.parse_date`` and ``parse_known_on``, as the web reads them).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.clock import parse_date, parse_known_on
from tracker.errors import TrackerError

__all__ = ["optional_date", "optional_known_on", "output_dir", "output_file", "parse_date", "parse_known_on",
           "workspace"]

if TYPE_CHECKING:
    from tracker.workspace import Workspace



def workspace() -> Workspace:
    """The workspace named by the environment (specs loaded, database migrated, projects synced)."""
    from tracker.workspace import open_workspace

    return open_workspace()


def optional_date(text: str | None, option: str = "--as-of") -> dt.date | None:
    return None if text is None else parse_date(text, option)


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
