"""From raw cells to rows ready for the database, a chunk at a time, optionally in a worker process.

``prepare_chunk`` checks one chunk (``tracker.records.validate.prepare``), orders the valid rows by
dedupe key (each index page is then touched once per chunk) and packs them as tuples of database
values. It needs no database, so for a large file it runs in a worker process (``worker_chunks``)
that reads and checks the next chunks while the main process writes the previous ones: reading and
checking cost about as much as writing, and the two overlap on a machine with two or more cores.
What the worker finds wrong with the file reaches the main process as the same Chinese message.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tracker.errors import TrackerError
from tracker.limits import limit
from tracker.records.insert import Packer, dedupe_ints
from tracker.records.reader import ROW_SPAN, Source
from tracker.records.scrub import scrub_messages as scrub_message_list
from tracker.records.validate import PROJECT_COL, Context, prepare
from tracker.records.values import BadCell

EXAMPLE_PREFIX = "示例"
#: A table's footer below the data: totals and signature lines (skipped and counted, never an error).
FOOTER_WORDS = ("合计", "小计", "总计", "共计", "累计", "制表人", "制表", "审核人", "审核", "填表人", "填表日期",
                "负责人", "签字", "签名", "盖章", "备注：", "说明：", "注：")
QUEUE_CHUNKS = 2  # chunks the worker may run ahead: bounds memory


@dataclass
class Chunk:
    """One checked chunk. Positions index the chunk after template example rows were dropped."""

    n: int  # data rows in the chunk (example rows not counted)
    rows: np.ndarray  # file row number of each position
    errors: dict[int, list[tuple[str, str]]]  # position → [(column label, reason)]
    valid: list[int]  # positions of the rows that passed every check, in dedupe-key order
    dedupe: list[str]  # per valid row
    record_id: list[str | None]  # per valid row
    bound: tuple[str, ...]  # the columns of ``values``
    values: list[tuple[Any, ...]]  # per valid row: database values of the ``bound`` columns
    rid_label: str
    dedupe_ints: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # per valid row
    content: list[str] = field(default_factory=list)  # per valid row: fingerprint of everything it says
    footers: list[int] = field(default_factory=list)  # file rows skipped as the table's footer (合计 …)


def prepare_chunk(raw: pd.DataFrame, rows: np.ndarray, positions: dict[int, str], ctx: Context,
                  packer: Packer) -> Chunk:
    """Check one chunk of raw cells (columns numbered as in the file) and pack its valid rows."""
    kd = ctx.kd
    chunk = raw.rename(columns=lambda i: positions.get(i, f"__ignored_{i}"))
    # template example rows (identity starting with 示例) are skipped
    ex = np.zeros(len(chunk), dtype=bool)
    for key in {kd.natural_key or "record_id", "record_id"}:
        if key in chunk.columns:
            ex |= np.array([str(v).strip().startswith(EXAMPLE_PREFIX) for v in chunk[key].tolist()], dtype=bool)
    foot = footer_rows(raw)
    footers = rows[foot & ~ex].tolist() if foot.any() else []
    ex |= foot
    if ex.any():
        chunk, rows = chunk[~ex].reset_index(drop=True), rows[~ex]
    n = len(chunk)
    if n == 0:
        return Chunk(0, rows, {}, [], [], [], (), [], "记录编号", footers=footers)
    try:
        prep = prepare(chunk, rows, ctx)
    except BadCell as e:
        raise refuse_cell(e, rows, ctx) from None
    scrub_messages(prep.errors)
    every = not prep.errors  # the usual case: no copies of the columns
    valid = list(range(n)) if every else np.flatnonzero(prep.valid).tolist()

    def take(vals: list[Any]) -> list[Any]:
        return vals if every else [vals[i] for i in valid]

    data = {k: take(v) for k, v in prep.values.items()}
    data["dedupe_key"] = take(prep.dedupe)
    data["content_key"] = take(prep.content)
    data["record_id"] = take(prep.record_id)
    # the row in its own sheet (rows of later sheets are numbered k * ROW_SPAN + row)
    src_rows = rows % ROW_SPAN if len(rows) and rows.max() >= ROW_SPAN else rows
    data["source_row"] = src_rows.tolist() if every else [int(src_rows[i]) for i in valid]
    if prep.attributes is not None:
        data["attributes"] = take(prep.attributes)
    bound, values = packer.pack(data, len(valid))
    order = sorted(range(len(valid)), key=data["dedupe_key"].__getitem__)
    dedupe = [data["dedupe_key"][j] for j in order]
    rids = [data["record_id"][j] for j in order]
    content = [data["content_key"][j] for j in order]
    return Chunk(n, rows, prep.errors, [valid[j] for j in order], dedupe, rids, bound, [values[j] for j in order],
                 prep.rid_label, dedupe_ints(dedupe), content, footers)


_FOOTER_FIRST = frozenset(w[0] for w in FOOTER_WORDS)


def footer_rows(raw: pd.DataFrame) -> np.ndarray:
    """Rows whose first filled cell (in the file's column order) begins with a footer word: 合计,
    小计, 制表人：张三, 审核人 … (a data row begins with its 序号, date or name)."""
    out = np.zeros(len(raw), dtype=bool)
    if raw.shape[1] == 0 or len(raw) == 0:
        return out
    cols = [raw[c].to_numpy(dtype=object) for c in raw.columns]
    first = cols[0]
    # cheap pre-filter: the first cell empty or starting with one of the words' first characters
    cand = [i for i, v in enumerate(first.tolist()) if not v or str(v).lstrip()[:1] in _FOOTER_FIRST]
    for i in cand:
        for col in cols:
            t = str(col[i]).replace(" ", "").replace("\u3000", "").strip()
            if t:
                out[i] = t.startswith(FOOTER_WORDS)
                break
    return out


def refuse_cell(e: BadCell, rows: np.ndarray, ctx: Context) -> TrackerError:
    """The whole input is refused for a cell longer than ``TRACKER_MAX_CELL`` characters or holding a
    NUL character: either means a broken or hostile file, and neither may reach the database
    (PostgreSQL rejects NUL; SQLite would store it silently)."""
    label = _label(str(e.column or ""), e.column, ctx)
    row = ctx.row_label(int(rows[e.position]))
    if e.nul:
        return TrackerError(f"{row} [{label}] 含有空字符（\\x00），无法导入：文件可能已损坏，"
                            "请在 Excel 中打开后重新另存为 .xlsx 或“CSV UTF-8”")
    return TrackerError(f"{row} [{label}] 的单元格有 {e.length:,} 个字符，超过上限 {limit('TRACKER_MAX_CELL'):,}："
                        "请检查该单元格（可能误粘贴了大段内容），未导入任何记录")


def _label(key: str, c: Any, ctx: Context) -> str:
    for col in ctx.kd.columns:
        if col.key == key:
            return col.label
    if key == PROJECT_COL:
        return "项目编号"
    return key if key and not key.startswith("__") else "某列"


def scrub_messages(errors: dict[int, list[tuple[str, str]]]) -> None:
    """Reasons may quote a cell: none may carry an ID number in clear (not even a mistyped one)."""
    if not errors:
        return
    distinct = list({m for es in errors.values() for _, m in es})
    clean = scrub_message_list(distinct)
    if clean is distinct:
        return
    to = dict(zip(distinct, clean, strict=True))
    for i, es in errors.items():
        errors[i] = [(c, to[m]) for c, m in es]  # type: ignore[misc]


@dataclass
class Job:
    """What a worker needs to read and check a whole file."""

    source: Source
    positions: dict[int, str]
    ctx: Context
    model: Any
    dialect: str
    constant: list[str]
    chunk_size: int


def die_with_parent() -> None:
    """In a worker process: end when the parent ends, however it ends (``kill -9`` too), and leave
    Ctrl-C and SIGTERM to the parent, which stops the worker after its rollback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform == "linux":
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


def _watch_parent(parent: int) -> None:
    """Elsewhere (and should the parent be gone before prctl): poll the parent id once a second."""
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _work(job: Job, out: Any) -> None:
    die_with_parent()
    try:
        packer = Packer(job.model, job.dialect, job.constant)
        for raw, rows in job.source.chunks(job.chunk_size):
            out.put(("chunk", prepare_chunk(raw, rows, job.positions, job.ctx, packer)))
        out.put(("done", None))
    except TrackerError as e:
        out.put(("error", e.message))
    except BaseException:  # a bug: the main process reports it with the worker's traceback
        out.put(("crash", traceback.format_exc()))


def start_method() -> str:
    """``fork`` where it is safe and cheap (Linux, no other threads), else ``spawn``."""
    forced = os.environ.get("TRACKER_IMPORT_START")
    if forced in ("fork", "spawn", "forkserver"):
        return forced
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


def worker_chunks(job: Job) -> Iterator[Chunk]:
    """The chunks of ``job``, read and checked by a worker process while the caller writes."""
    ctx = mp.get_context(start_method())
    q = ctx.Queue(maxsize=QUEUE_CHUNKS)
    proc = ctx.Process(target=_work, args=(job, q), name="tracker-import-reader", daemon=True)
    proc.start()
    finished = False
    try:
        while True:
            try:
                what, payload = q.get(timeout=1.0)
            except queue.Empty:
                if not proc.is_alive():
                    raise TrackerError(
                        f"读取文件的子进程意外退出（退出码 {proc.exitcode}），未写入任何记录：请重试；"
                        "若反复出现，请检查内存是否足够") from None
                continue
            if what == "chunk":
                yield payload
            elif what == "done":
                finished = True
                return
            elif what == "error":
                raise TrackerError(payload)
            else:
                raise RuntimeError(f"import worker failed:\n{payload}")
    finally:
        if finished:
            proc.join(timeout=10)
        if proc.is_alive():  # the caller stopped early: the worker may be blocked on a full queue
            proc.terminate()
        proc.join()
        q.close()
        q.cancel_join_thread()
