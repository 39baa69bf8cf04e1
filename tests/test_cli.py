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
