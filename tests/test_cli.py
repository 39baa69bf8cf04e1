"""The command line's exit statuses: 0 on success, 1 with a Chinese message on stderr (``错误：…``),
2 with a Chinese usage message; the exit code of ``typer.Exit`` reaches the shell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROBE = """
import sys, typer
from tracker.cli import app, main
@app.command("exit-probe")
def probe(code: int) -> None:
    raise typer.Exit(code)
main()
"""


def _run(*args: str, code: str = "from tracker.cli import main; main()") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=60)


def test_typer_exit_code_reaches_the_shell() -> None:
    assert _run("exit-probe", "3", code=PROBE).returncode == 3
    assert _run("exit-probe", "0", code=PROBE).returncode == 0


def test_usage_errors_are_chinese_with_status_2() -> None:
    usage = _run("spec", "export", "--no-such-option")
    assert usage.returncode == 2
    assert usage.stderr.startswith("用法错误：没有选项 --no-such-option")
    missing = _run("spec", "show")
    assert missing.returncode == 2 and "用法错误：缺少参数 code" in missing.stderr


def test_tracker_error_is_chinese_with_status_1() -> None:
    err = _run("spec", "export", "--format", "xml")
    assert err.returncode == 1
    assert err.stderr.startswith("错误：不支持的格式 “xml”")
    assert "Traceback" not in err.stderr


def test_dates_on_the_command_line_take_the_import_forms() -> None:
    import datetime as dt

    import pytest

    from tracker.cli.options import parse_date, parse_known_on
    from tracker.errors import TrackerError

    for text in ("2024-06-01", "2024/6/1", "2024.6.1", "2024年6月1日"):
        assert parse_date(text) == dt.date(2024, 6, 1)
    for bad in ("2024-02-30", "1/6/2024", "明天"):
        with pytest.raises(TrackerError, match="YYYY-MM-DD"):
            parse_date(bad)
    end_of_day = parse_known_on("2024-11-15")
    assert end_of_day.isoformat() == "2024-11-15T23:59:59.999999+08:00"
    assert parse_known_on("2024-11-15T18:00").isoformat() == "2024-11-15T18:00:00+08:00"
    assert parse_known_on("2024-11-15T10:00Z").utcoffset() == dt.timedelta(0)
