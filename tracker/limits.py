"""Bounds on the work one input may cause, each with a Chinese message (docs/limits.md).

Every limit can be changed through an environment variable (read each time, so a test or a web
worker can set its own; ``TRACKER_STAGE_ROWS`` is not a refusal: above it an import is staged in
short transactions, ``tracker.records.staging``):

=====================================  =========================  ===========
what                                   variable                   default
=====================================  =========================  ===========
size of an imported file (upload)      TRACKER_MAX_FILE_MB        500
uncompressed size of a workbook        TRACKER_MAX_XLSX_MB        1024
compression ratio of a workbook part   TRACKER_MAX_XLSX_RATIO     200
data rows of one file                  TRACKER_MAX_ROWS           2000000
characters in one cell                 TRACKER_MAX_CELL           32767
characters in a code (记录编号 …)      TRACKER_MAX_CODE           100
size of a spec file                    TRACKER_MAX_SPEC_KB        1024
YAML nodes of a spec, aliases expanded TRACKER_MAX_SPEC_NODES     200000
nesting depth of a spec                TRACKER_MAX_SPEC_DEPTH     40
rows with errors an error file lists   TRACKER_MAX_ERROR_ROWS     1000
rows above which an import is staged   TRACKER_STAGE_ROWS         50000
=====================================  =========================  ===========
"""

from __future__ import annotations

import os

from tracker.errors import TrackerError

_DEFAULTS = {
    "TRACKER_MAX_FILE_MB": 500,
    "TRACKER_MAX_XLSX_MB": 1024,
    "TRACKER_MAX_XLSX_RATIO": 200,
    "TRACKER_MAX_ROWS": 2_000_000,
    "TRACKER_MAX_CELL": 32_767,
    "TRACKER_MAX_CODE": 100,
    "TRACKER_MAX_SPEC_KB": 1024,
    "TRACKER_MAX_SPEC_NODES": 200_000,
    "TRACKER_MAX_SPEC_DEPTH": 40,
    "TRACKER_MAX_ERROR_ROWS": 1000,
    "TRACKER_STAGE_ROWS": 50_000,
}


def limit(name: str) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return _DEFAULTS[name]
    try:
        v = int(float(raw))
    except ValueError:
        raise TrackerError(f"环境变量 {name} 的值 “{raw}” 不是数字：请写一个正整数（缺省 {_DEFAULTS[name]}）") from None
    if v <= 0:
        raise TrackerError(f"环境变量 {name} 应为正整数，实际为 {raw}")
    return v


def max_file_bytes() -> int:
    return limit("TRACKER_MAX_FILE_MB") << 20


def check_file_size(name: str, size: int) -> None:
    top = max_file_bytes()
    if size > top:
        raise TrackerError(f"文件 {name} 有 {size / (1 << 20):.0f} MB，超过导入上限 {top >> 20} MB：请把文件拆成几份分别导入"
                           "（管理员可用 TRACKER_MAX_FILE_MB 调整上限）")


def check_rows(name: str, rows: int | None) -> None:
    top = limit("TRACKER_MAX_ROWS")
    if rows is not None and rows > top:
        raise TrackerError(f"文件 {name} 约有 {rows:,} 行，超过一次导入的上限 {top:,} 行：请把文件拆成几份分别导入"
                           "（管理员可用 TRACKER_MAX_ROWS 调整上限）")


def check_workbook(name: str, members: list[tuple[str, int, int]]) -> None:
    """(part name, compressed, uncompressed size) of each part of a zip, as the zip declares them:
    refused before anything is inflated."""
    total = sum(u for _, _, u in members)
    top = limit("TRACKER_MAX_XLSX_MB") << 20
    if total > top:
        raise TrackerError(f"Excel 文件 {name} 解压后有 {total / (1 << 20):,.0f} MB，超过上限 {top >> 20} MB："
                           "请删除多余的工作表或空白格式，或另存为 CSV 后导入")
    ratio = limit("TRACKER_MAX_XLSX_RATIO")
    for part, c, u in members:
        if u > (1 << 20) and u > ratio * max(c, 1):
            raise TrackerError(f"Excel 文件 {name} 的 {part} 压缩比异常（{u / max(c, 1):,.0f} 倍，上限 {ratio} 倍），"
                               "可能是恶意构造的文件，未导入：请用 Excel 重新另存后再试")
