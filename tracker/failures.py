"""Unexpected failures said in Chinese: file-system errors, a busy or read-only database, a bad
database URL, a stop signal. The CLI (and the web application) turn any exception into a message
with ``explain``; what is not recognised becomes a general message and the technical details go to a
log file (``crash_log``), never to the person's terminal.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

from tracker import config
from tracker.errors import TrackerError

BUSY_MESSAGE = "数据库正忙：另一项导入正在写入，请稍后重试"


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: the work is rolled back (a ``BaseException``, so that every
    ``except Exception`` lets it through to the rollbacks)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def message(self) -> str:
        why = "收到中断（Ctrl-C）" if self.signum == signal.SIGINT else "收到终止信号"
        return f"已中止：{why}，本次操作已回滚，未写入任何内容"


def install_signal_handlers() -> None:
    """SIGTERM (and SIGINT) raise ``Interrupted`` in the main thread."""

    def handler(signum: int, _frame: Any) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):  # a second signal must not interrupt the rollback
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signum)

    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def interruption(e: BaseException | None) -> Interrupted | None:
    """The ``Interrupted`` behind ``e``: a signal that struck mid-statement can make the rollback
    itself fail (PostgreSQL: "another command is already in progress"); the server rolls back when
    the connection closes, and what the person needs to hear is still that the work was stopped."""
    seen = 0
    while e is not None and seen < 20:
        if isinstance(e, Interrupted):
            return e
        if isinstance(e, KeyboardInterrupt):
            return Interrupted(signal.SIGINT)
        e = e.__cause__ or e.__context__
        seen += 1
    return None


def _path_of(e: OSError) -> str:
    return str(e.filename) if e.filename is not None else "该路径"


def _os_message(e: OSError) -> str | None:
    p = _path_of(e)
    if isinstance(e, IsADirectoryError):
        return f"{p} 是目录，不是文件：请写出完整的文件路径"
    if isinstance(e, NotADirectoryError):
        return f"{p} 的上级路径中有一个是文件而不是目录：请换一个输出位置"
    if isinstance(e, PermissionError):
        return f"没有权限访问 {p}：请检查文件和目录的读写权限，或换一个位置"
    if isinstance(e, FileNotFoundError):
        # reading a missing file, or writing where no file can be created (/proc, a vanished folder)
        return f"找不到 {p}，或无法在它所在的目录中新建文件：请检查路径是否正确，写出文件时请换一个可写的位置"
    if isinstance(e, FileExistsError):
        return f"{p} 已存在：请换一个名字或先删除它"
    if e.errno == 28:  # ENOSPC
        return "磁盘空间不足：请清理磁盘后重试，本次操作未完成"
    if e.errno == 30:  # EROFS
        return f"{p} 所在的文件系统是只读的：请换一个可写的位置"
    return None


def _db_message(text: str) -> str | None:
    t = text.lower()
    if "database is locked" in t or "database table is locked" in t or "lock timeout" in t:
        return BUSY_MESSAGE
    if "readonly database" in t or ("read-only" in t and "database" in t):
        return "数据库文件是只读的，无法写入：请检查数据库文件及其目录的写权限（TRACKER_DB_URL）"
    if "unable to open database file" in t:
        return "无法打开数据库文件：请检查 TRACKER_DB_URL 指向的目录是否存在且可写"
    if "disk i/o error" in t or "database or disk is full" in t:
        return "数据库读写失败（磁盘已满或出错）：请检查磁盘后重试"
    if "file is not a database" in t or "malformed" in t:
        return "数据库文件已损坏或不是 SQLite 数据库：请检查 TRACKER_DB_URL"
    if "unique" in t and ("violat" in t or "constraint" in t):
        return "与同时进行的另一项操作冲突（同一条记录被同时写入），未写入任何内容：请稍后重试"
    if "value too long" in t or "string data right truncation" in t:
        return "某个值超出了数据库允许的长度，未写入任何内容：请缩短过长的单元格后重试"
    if "nul" in t and ("character" in t or "0x00" in t):
        return "内容中含有空字符（\\x00），无法写入数据库：请删除后重试"
    if "connection" in t and ("refused" in t or "failed" in t or "timeout" in t):
        return "无法连接数据库：请检查 TRACKER_DB_URL 与数据库服务是否在运行"
    return None


def explain(e: BaseException) -> str | None:
    """A Chinese message for a recognised failure, else None."""
    if isinstance(e, TrackerError):
        return e.message
    if isinstance(e, Interrupted):
        return e.message
    if isinstance(e, KeyboardInterrupt):
        return Interrupted(signal.SIGINT).message
    if isinstance(e, MemoryError):
        return "内存不足，操作未完成，未写入任何内容：请关闭其他程序，或把文件拆小后重试"
    if isinstance(e, RecursionError):
        return "输入的嵌套层次过深，无法处理：请检查文件内容"
    try:
        from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
    except ImportError:  # pragma: no cover
        ArgumentError = DBAPIError = NoSuchModuleError = OperationalError = ()  # type: ignore[assignment,misc]
    if isinstance(e, ArgumentError | NoSuchModuleError):
        return ("数据库地址（TRACKER_DB_URL）格式无效：应写成 sqlite:///路径/tracker.db 或 "
                "postgresql://用户@主机:端口/库名")
    if isinstance(e, DBAPIError | OperationalError):
        return _db_message(str(getattr(e, "orig", e)) or str(e)) or _db_message(type(getattr(e, "orig", e)).__name__)
    import sqlite3

    if isinstance(e, sqlite3.Error) or type(e).__module__.startswith("psycopg"):  # the drivers' own errors
        return _db_message(str(e)) or _db_message(type(e).__name__)
    if isinstance(e, OSError):
        return _os_message(e)
    if isinstance(e, UnicodeError):
        return "文件中含有无法识别的字符编码：请另存为 UTF-8 后重试"
    cause = e.__cause__ or e.__context__
    if cause is not None and cause is not e:
        return explain(cause)
    return None


def crash_log(e: BaseException) -> Path | None:
    """Write the traceback to ``<TRACKER_DATA>/logs/`` (or the temporary directory); its path."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    text = f"tracker {' '.join(sys.argv[1:2])} 于 {stamp} 出错\n{text}"
    for d in (config.data_dir() / "logs", Path(tempfile.gettempdir())):
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"tracker-错误-{stamp}-", suffix=".log", dir=d)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return Path(name)
        except OSError:
            continue
    return None


def unexpected_message(e: BaseException) -> str:
    """What the person sees for an error nobody foresaw."""
    log = crash_log(e)
    where = f"技术细节已记入日志文件 {log}" if log else "技术细节未能写入日志文件"
    return f"发生了意外错误，本次操作未完成（未提交的更改已回滚）。{where}：请把该文件发给系统管理员"
