"""No traceback reaches a person: the hostile and unlucky cases, each through a real ``tracker``
process, give a Chinese message on stderr and a non-zero exit; any "Traceback" fails the test."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import CODE, ROSTER, SPECS, counts, id_number, workspace, write_csv, write_xlsx

TRACKER = Path(sys.executable).parent / "tracker"
ACT = ["记录编号", "日期", "活动类型", "参与人数", "备注"]


def _run(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([str(TRACKER), *args], env=env, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert "Traceback" not in r.stdout + r.stderr, f"{args}: {r.stderr}"
    return r


def _fails(env: dict[str, str], words: str, *args: str) -> str:
    r = _run(env, *args)
    assert r.returncode != 0, (args, r.stdout)
    assert "错误：" in r.stderr, (args, r.stderr)
    assert words in r.stderr, (args, r.stderr)
    return r.stderr


@pytest.fixture
def cli(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    e = {**os.environ, **env, "TRACKER_SPECS": str(SPECS)}
    assert _run(e, "import", str(write_csv(tmp_path / "r.csv", ROSTER)), "--project", CODE).returncode == 0
    return e


def test_hostile_files_and_paths(cli: dict[str, str], tmp_path: Path, db_url: str) -> None:
    before = counts(workspace(db_url))
    d = tmp_path / "in"
    d.mkdir()
    rows = [ACT] + [[f"A{i}", "2024-07-01", "培训", 10, f"第{i}场"] for i in range(30)]
    long_rid = [r[:] for r in rows]
    long_rid[5][0] = "R" * (1 << 20)
    _fails(cli, "第6行 [记录编号] 的单元格有 1,048,576 个字符", "import", str(write_csv(d / "rid.csv", long_rid)),
           "--project", CODE)
    mid_rid = [r[:] for r in rows]
    mid_rid[5][0] = "R" * 3000
    _fails(cli, "记录编号过长（3,000 个字符，上限 100）", "import", str(write_csv(d / "rid2.csv", mid_rid)),
           "--project", CODE)
    nul = write_csv(d / "nul.csv", rows)
    nul.write_bytes(nul.read_bytes().replace("第3场".encode(), "第3\x00场".encode()))
    _fails(cli, "第5行含有空字符", "import", str(nul), "--project", CODE)
    big = [ACT, ["A1", "2024-07-01", "培训", 10, "长" * 140_000]]
    _fails(cli, "第2行 [备注] 的单元格有 140,000 个字符，超过上限 32,767", "import", str(write_csv(d / "cell.csv", big)), "--project", CODE)
    seed = write_xlsx(tmp_path / "seed.xlsx", rows)
    evil = d / "dtd.xlsx"
    with zipfile.ZipFile(seed) as zin, zipfile.ZipFile(evil, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]>' + data.split(b"?>", 1)[-1]
            zout.writestr(item, data)
    _fails(cli, "含有 DTD 声明", "import", str(evil), "--project", CODE)
    # output paths
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    _fails(cli, f"--out 应为目录，而 {afile} 是一个文件", "report", "midterm", "--project", CODE, "--out", str(afile))
    _fails(cli, "是文件而不是目录", "report", "midterm", "--project", CODE, "--out", str(afile / "sub"))
    _fails(cli, f"--out 应为文件名，而 {tmp_path} 是目录", "template", "--project", CODE, "--kind", "activity",
           "--out", str(tmp_path))
    bad = write_csv(d / "bad.csv", [ACT, ["A1", "2024-07-01", "培训", -5, ""]])
    _fails(cli, f"--error-file 应为文件名，而 {tmp_path} 是目录", "import", str(bad), "--project", CODE,
           "--error-file", str(tmp_path))
    _fails(cli, "是文件而不是目录", "import", str(bad), "--project", CODE, "--error-file", str(afile / "e.csv"))
    _fails(cli, "是目录，请指定要导入的文件", "import", str(d), "--project", CODE)
    assert counts(workspace(db_url)) == before
    assert sorted(p.name for p in d.iterdir()) == ["bad.csv", "cell.csv", "dtd.xlsx", "nul.csv", "rid.csv",
                                                   "rid2.csv", "rid2.错误说明.csv"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_database_url_key_and_spec_troubles(cli: dict[str, str], tmp_path: Path, db_url: str) -> None:
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    db = db_url.removeprefix("sqlite:///")
    for url, words in [("nonsense", "数据库地址（TRACKER_DB_URL）格式无效"),
                       ("postgresql://[::1", "数据库地址（TRACKER_DB_URL）格式无效"),
                       ("mysql://u@h/x", "不支持的数据库：mysql"),
                       (f"sqlite:///{afile}/x.db", "无法创建数据库文件所在的目录"),
                       ("postgresql://u@127.0.0.1:1/x", "无法连接数据库"),
                       (f"sqlite:///file:{db}?mode=ro&uri=true", "数据库文件是只读的")]:
        env = {**cli, "TRACKER_DB_URL": url}
        _fails(env, words, "log", "activity", "--project", CODE, "--日期", "2024-07-01", "--活动类型", "培训",
               "--参与人数", "3")
    roster = write_csv(tmp_path / "r2.csv", [["服务对象编号", "身份证号", "人群"], ["P9", id_number(), "困境儿童"]])
    keydir = tmp_path / "k1"
    (keydir / "id.key").mkdir(parents=True)
    _fails({**cli, "TRACKER_ID_KEY": "", "TRACKER_DATA": str(keydir)}, "身份证号哈希密钥文件", "import",
           str(roster), "--project", CODE)
    (tmp_path / "k2").mkdir()
    (tmp_path / "k2" / "id.key").write_bytes(b"\xff\xfe\x00\x01")
    _fails({**cli, "TRACKER_ID_KEY": "", "TRACKER_DATA": str(tmp_path / "k2")}, "无法读取或内容无效", "import",
           str(roster), "--project", CODE)
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_bytes(b"spec_version: 1\nproject: {name: \xff\xfe}\n")
    _fails({**cli, "TRACKER_SPECS": str(specs)}, "文件不是 UTF-8 编码", "spec", "validate")
    (specs / "a.yaml").unlink()
    (specs / "b.yaml").mkdir()
    _fails({**cli, "TRACKER_SPECS": str(specs)}, "是目录，不是文件", "spec", "validate")
    (specs / "b.yaml").rmdir()
    (specs / "c.yaml").symlink_to(tmp_path / "nowhere.yaml")
    _fails({**cli, "TRACKER_SPECS": str(specs)}, "找不到", "progress", "--project", CODE)
    _fails({**cli, "TRACKER_SPECS": str(tmp_path / "none")}, "", "progress", "--project", CODE)


def test_the_same_file_imported_twice_at_once(cli: dict[str, str], tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "same.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(ACT)
        for i in range(60_000):
            w.writerow([f"S{i}", "2024-07-01", "培训", 10, f"第{i}场"])
    procs = [subprocess.Popen([str(TRACKER), "import", str(path), "--project", CODE], env=cli, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    for rc, out, err in results:
        assert "Traceback" not in out + err, err
        assert rc == 0 or err.startswith("错误："), err
    ok = [r for r in results if r[0] == 0]
    assert ok, results
    # one wrote the rows; the other found them unchanged or was told to retry
    assert counts(workspace(db_url))["activity"] == 60_000
    for rc, out, err in results:
        if rc:
            assert "请稍后重试" in err, err
        else:
            assert "新增 60000 条" in out or "未变化 60000 条" in out, out


def test_output_files_of_listings_and_places_that_cannot_be_written(cli: dict[str, str], tmp_path: Path) -> None:
    """Every output path of the CLI: a directory where a file is wanted, a file on the way, a place no
    file can be created in (``/proc``: even root cannot create a file there)."""
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    for cmd in (["records", "--project", CODE], ["batches"]):
        _fails(cli, f"--out 应为文件名，而 {tmp_path} 是目录", *cmd, "--format", "csv", "--out", str(tmp_path))
        _fails(cli, "是文件而不是目录", *cmd, "--format", "xlsx", "--out", str(afile / "x.xlsx"))
        _fails(cli, "/proc", *cmd, "--format", "csv", "--out", "/proc/tracker-test.csv")
    # not "找不到 …" alone, which reads as if the file to be written should have existed
    _fails(cli, "/proc/tracker-test.xlsx，或无法在它所在的目录中新建文件", "template", "--project", CODE, "--kind",
           "activity", "--out", "/proc/tracker-test.xlsx")
    _fails(cli, "无法在它所在的目录中新建文件", "report", "midterm", "--project", CODE, "--out", "/proc/tracker-test")
    bad = write_csv(tmp_path / "bad.csv", [ACT, ["A1", "2024-07-01", "培训", -5, ""]])
    _fails(cli, "/proc", "import", str(bad), "--project", CODE, "--error-file", "/proc/tracker-test.csv")
    assert not list(Path(tmp_path).glob("*.part")) and not afile.is_dir()
