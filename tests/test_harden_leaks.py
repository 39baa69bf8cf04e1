"""The leak scan: every ID number and name of a generated roster, hidden in the ID column, in an extra
column, in free text and as a 服务对象编号, is searched in the SQLite database file and its WAL, in
every report (HTML, PDF text), the portfolio export, the emails, the error files and every command's
output. None of them is found in clear (names are stored in the database by design, masked in all
that leaves it). Phone numbers in free text are masked too; a declared contact-phone column keeps them.
Error files are the one exception by design (they keep the user's cells so that they can be corrected
and imported again): they are checked to hold only cells of the input, each row one input row, and an
错误说明 without any ID number or name."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from schedule_support import FAST, P1, SPECS, LoopbackSmtp, d

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "records"))
from records_support import check_digit

from tracker.records.privacy import mask_id
from tracker.records.scrub import is_id_number, mask_phone, scrub_text

TRACKER = Path(sys.executable).parent / "tracker"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "桂兰", "德明", "玉珍", "福生", "淑芬", "长根", "凤英", "金海"]


def people(n: int = 20) -> list[tuple[str, str, str, str]]:
    """(person id, name, 18-digit ID number, mobile number) with real check characters."""
    out = []
    for i in range(n):
        body = f"3301821{940 + i % 10}0{1 + i % 9}{10 + i % 18:02d}{100 + i:03d}"[:17]
        out.append((f"E{i + 1:03d}", SURNAMES[i] + GIVEN[i % len(GIVEN)], body + check_digit(body),
                    f"13{5 + i % 5}{57100000 + i * 7919:08d}"))
    return out


def test_the_finders_on_their_own() -> None:
    _, _, idn, phone = people(1)[0]
    assert is_id_number(idn) and not is_id_number(idn[:-1] + ("0" if idn[-1] != "0" else "1"))
    old = "330106500101002"  # a 15-digit number: area 330106, born 1950-01-01
    assert is_id_number(old) and not is_id_number("330106501301002")  # month 13
    text = f"家属身份证{idn}，旧证{old}，手机 {phone}，座机0571-88886666，第12345场，2024-07-01"
    out = scrub_text(text)
    assert idn not in out and old not in out and phone not in out and "88886666" not in out
    assert mask_id(idn) in out and mask_phone(phone) == phone[:3] + "****" + phone[-4:] and phone[-4:] in out
    assert "第12345场，2024-07-01" in out
    wide = idn.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))  # full-width digits
    assert wide not in scrub_text(f"身份证：{wide}")
    # digits that only look like an ID stay (a wrong check character; a longer run)
    fake = idn[:-1] + ("1" if idn[-1] != "1" else "2")
    assert scrub_text(f"编号{fake}") == f"编号{fake}" and scrub_text(idn + "7") == idn + "7"


def _run(env: dict[str, str], *args: str) -> str:
    r = subprocess.run([str(TRACKER), *args], env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r.stdout + r.stderr + f"\n(exit {r.returncode})"


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_id_number_or_name_leaks_anywhere(env: dict[str, str], tmp_path: Path, db_url: str,
                                             smtp: LoopbackSmtp) -> None:
    ppl = people()
    environ = {**os.environ, **env, "TRACKER_SPECS": str(SPECS)}
    out: list[str] = []
    roster = _write(tmp_path / "名册.csv", [["服务对象编号", "姓名", "身份证号", "身份号码", "家属备注", "联系电话", "建档日期"]]
                    + [[pid, name, idn, idn, f"家属身份证{idn}，手机{phone}", phone, "2024-06-01"]
                       for pid, name, idn, phone in ppl])
    out.append(_run(environ, "import", str(roster), "--project", P1))
    assert "新增 20 条" in out[-1]
    # a roster whose 服务对象编号 is the ID number: refused, the number never repeated
    bad_rows = [["服务对象编号", "姓名", "建档日期"]] + [[idn, name, "2024-06-01"] for _, name, idn, _ in ppl]
    bad = _write(tmp_path / "坏名册.csv", bad_rows)
    refused = _run(environ, "import", str(bad), "--project", P1)
    assert "(exit 1)" in refused
    assert "填写的是身份证号，身份证号不能用作编号" in refused and "请把身份证号填在“身份证号”列" in refused
    out.append(refused)
    acts = [["记录编号", "日期", "活动类型", "服务对象编号", "备注"]]
    for k in range(60):
        pid, _, idn, phone = ppl[k % 20]
        acts.append([f"V{k:03d}", f"2024-{6 + k % 5:02d}-{1 + k % 27:02d}", "上门探访", pid,
                     f"老人身份证{idn} 电话{phone}"])
    acts.append(["V999", "2024-07-01", f"探访{ppl[0][2]}", "E001", ""])  # an invalid row quoting an ID
    out.append(_run(environ, "import", str(_write(tmp_path / "活动.csv", acts)), "--project", P1))
    out.append(_run(environ, "import", str(tmp_path / "活动.csv"), "--project", P1, "--skip-invalid",
                    "--error-file", str(tmp_path / "活动错误.xlsx")))
    assert "新增 60 条" in out[-1]
    out.append(_run(environ, "log", "activity", "--project", P1, "--日期", "2024-08-01", "--活动类型", "上门探访",
                    "--服务对象编号", "E002", "--备注", f"补登 {ppl[1][2]}"))
    out.append(_run(environ, "note", "--project", P1, "--topic", "plan", "--author", "社工",
                    "--text", f"下月回访身份证{ppl[2][2]}的老人"))
    for args in (["progress", "--project", P1, "--violations"], ["progress", "--project", P1, "--format", "json"],
                 ["violations", "--project", P1], ["portfolio"], ["explain", f"{P1}.1.visit_people"],
                 ["report", "midterm", "--project", P1, "--out", str(tmp_path / "reports")],
                 ["report", "final", "--all", "--out", str(tmp_path / "reports")]):
        out.append(_run(environ, *args))
    texts = ["\n".join(out)]
    reports = sorted((tmp_path / "reports").iterdir())
    assert any(p.suffix == ".pdf" for p in reports) and any(p.suffix == ".xlsx" for p in reports)
    for p in reports:
        if p.suffix == ".pdf":
            texts.append(subprocess.run(["pdftotext", "-layout", str(p), "-"], capture_output=True, text=True,
                                        check=True).stdout)
        elif p.suffix == ".xlsx":
            texts.append(_xlsx_text(p))
        else:
            texts.append(p.read_text("utf-8"))
    # error files are the exception: they keep the user's own cells (to be corrected and imported
    # again), so they are checked to hold nothing else: each row is an input row, cell for cell
    inputs = {"坏名册.错误说明.csv": bad_rows, "活动.错误说明.csv": acts, "活动错误.xlsx": acts}
    assert sorted(p.name for p in tmp_path.glob("*错误*")) == sorted(inputs)
    for name, rows in inputs.items():
        _only_input_cells(tmp_path / name, rows, ppl)
    # emails: the monthly messages of the project and the digest, with their PDF attachments
    from tracker.scheduling.contacts import add_contact
    from tracker.scheduling.tick import tick
    from tracker.workspace import open_workspace

    ws = open_workspace(db_url, SPECS)
    add_contact(ws, P1, "ngo", "王小明", "ngo@example.org", since=d("2024-06-01"))
    add_contact(ws, None, "bureau", "赵六", "digest@example.org", since=d("2024-06-01"))
    rows = tick(ws, d("2024-08-01"), smtp=smtp.settings(), settings=FAST)
    assert rows and all(r.state == "sent" for r in rows)
    for r in smtp.received:
        texts.append(r.msg.as_string())
        for att in r.msg.iter_attachments():
            if att.get_content_type() == "application/pdf":
                pdf = tmp_path / "mail.pdf"
                pdf.write_bytes(att.get_content())
                texts.append(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                            check=True).stdout)
    ws.engine.dispose()
    everything = "\n".join(texts)
    db = Path(db_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())
    assert len(everything) > 10_000 and len(raw) > 50_000
    for pid, name, idn, phone in ppl:
        assert idn not in everything and idn.encode() not in raw, f"ID number of {pid} in clear"
        assert name not in everything, f"name of {pid} in clear"
        assert f"电话{phone}".encode() not in raw and f"手机{phone}".encode() not in raw
    assert mask_id(ppl[0][2]).encode() in raw  # masked forms are what is stored
    assert ppl[0][3].encode() in raw  # the declared contact phone column keeps its number


def _only_input_cells(path: Path, rows: list[list[str]], ppl: list[tuple[str, str, str, str]]) -> None:
    """Each row of an error file is the input row its 原行号 names, cell for cell (a CSV cell that
    Excel would run as a formula gets an apostrophe; an XLSX date is a date), then 原行号 and an
    错误说明 that names nobody: nothing from the database, no other row."""
    import datetime as dt

    from openpyxl import load_workbook

    if path.suffix == ".xlsx":
        got = [list(r) for r in load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)]
    else:
        with path.open(encoding="utf-8-sig", newline="") as f:
            got = list(csv.reader(f))
    assert got[0] == [*rows[0], "原行号", "错误说明"], path
    seen = set()
    for line in got[1:]:
        *cells, row, why = ["" if v is None else v.date().isoformat() if isinstance(v, dt.datetime) else str(v)
                            for v in line]
        assert row.isdigit() and row not in seen, (path, line)
        seen.add(row)
        want = rows[int(row) - 1]
        if path.suffix == ".csv":
            want = ["'" + v if v and v[0] in "=+-@" else v for v in want]
        assert cells == want, (path, line)
        assert all(idn not in why and name not in why for _, name, idn, _ in ppl), (path, why)
    assert len(seen) == len(rows) - 1 or path.suffix == ".xlsx", path  # every input row, the one in error explained
    assert any(line[-1] for line in got[1:]), path


def _xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None)
