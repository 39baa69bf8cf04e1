"""The emails themselves: built from a ProjectProgress, and received from a real SMTP server on
loopback after a tick over the real engine and reports, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from schedule_support import FAST, P1, P2, SENDER, SPECS, LoopbackSmtp, add_visits, d

from tracker.measure.types import KpiProgress, ProjectProgress
from tracker.scheduling.compose import Attachment, project_email
from tracker.scheduling.contacts import add_contact
from tracker.scheduling.tick import tick
from tracker.workspace import open_workspace


def _kpi(key: str, label: str, target: float | None, actual: float | None, expected: float | None,
         status: str, unit: str = "人次", violations: int = 0) -> KpiProgress:
    return KpiProgress(id=f"2024B004E.2.{key}", clause=2, key=key, label=label, kind="count", comparator=">=",
                       target=target, unit=unit, text="", actual=actual, expected=expected, forecast=None,
                       status=status, violations=violations)  # type: ignore[arg-type]


def _parts(msg):  # type: ignore[no-untyped-def]
    return {p.get_content_type(): p for p in msg.walk()}


def test_email_layout_from_a_progress_built_by_hand() -> None:
    p = ProjectProgress(
        project="2024B004E", name="农村困难老人探访项目（建德市）", as_of=d("2024-11-30"), known_on=None,
        period_start=d("2024-06-01"), period_end=d("2025-03-31"), midterm=d("2024-11-15"),
        kpis=[_kpi("visits_total", "探访总人次", 15000, 6120, 7250, "behind", violations=3),
              _kpi("visit_people", "探访对象人数", 1500, 1500, 900, "met", unit="人")])
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    msg = project_email(p, kind="monthly", period="2024-11", sender=SENDER, recipient="ngo@example.org",
                        recipient_name="王小明", chart=png,
                        pdf=Attachment("2024B004E-2024-11.pdf", b"%PDF-1.7 test"))
    assert msg["Subject"] == "【公益创投进度】2024B004E 农村困难老人探访项目（建德市）2024年11月"
    assert msg.get_content_type() == "multipart/mixed"
    parts = _parts(msg)
    assert {"multipart/alternative", "multipart/related", "text/plain", "text/html", "image/png",
            "application/pdf"} <= set(parts)
    html = parts["text/html"].get_content()
    cid = parts["image/png"]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert parts["image/png"].get_content() == png
    # 6120 / 15000 = 40.8 %; statuses in Chinese; the greeting's name masked
    assert "40.8%" in html and "6,120" in html and "≥ 15,000" in html
    assert "进度滞后" in html and "达标" in html
    assert "<p>王小明：</p>" in html and "王**" not in html  # the recipient's own name, never masked
    text = parts["text/plain"].get_content()
    assert "探访总人次（人次） | ≥ 15,000 | 6,120 | 7,250 | — | 40.8% | 进度滞后 | 3" in text
    att = next(msg.iter_attachments())
    assert att.get_filename() == "2024B004E-2024-11.pdf" and att.get_content() == b"%PDF-1.7 test"
    assert '<html lang="zh-CN">' in html


def test_received_messages_parse(db_url: str, smtp: LoopbackSmtp, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    monkeypatch.setenv("TRACKER_ID_KEY", "test-key-not-secret")
    monkeypatch.setenv("TRACKER_DATA", str(tmp_path / "data"))
    ws = open_workspace(db_url, SPECS)
    # June: 3 visits to 2 people; July: 2 more visits, one new person → through July 5 visits, 3 people.
    add_visits(ws, P1, [("2024-06-03", "E001"), ("2024-06-10", "E002"), ("2024-06-20", "E001"),
                        ("2024-07-02", "E003"), ("2024-07-15", "E002")])
    add_contact(ws, P1, "ngo", "王小明", "ngo@example.org", since=d("2024-06-01"))
    add_contact(ws, P1, "bureau", "李四", "officer@example.org", since=d("2024-06-01"))
    add_contact(ws, None, "bureau", "赵六", "digest@example.org", since=d("2024-06-01"))
    rows = tick(ws, d("2024-08-01"), smtp=smtp.settings(), settings=FAST)
    assert all(r.state == "sent" for r in rows) and len(rows) == 6  # 2 months × (2 contacts + digest)

    got = smtp.received
    assert [(r.rcpt_tos, str(r.msg["Subject"])) for r in got] == [
        (["ngo@example.org"], f"【公益创投进度】{P1} 农村困难老人探访项目（测试县）2024年6月"),
        (["officer@example.org"], f"【公益创投进度】{P1} 农村困难老人探访项目（测试县）2024年6月"),
        (["digest@example.org"], "【公益创投月度汇总】全市公益创投项目2024年6月"),
        (["ngo@example.org"], f"【公益创投进度】{P1} 农村困难老人探访项目（测试县）2024年7月"),
        (["officer@example.org"], f"【公益创投进度】{P1} 农村困难老人探访项目（测试县）2024年7月"),
        (["digest@example.org"], "【公益创投月度汇总】全市公益创投项目2024年7月"),
    ]
    assert all(r.mail_from == SENDER for r in got)
    for r, (month, visits, people) in zip([got[0], got[3]], [("06", 3, 2), ("07", 5, 3)], strict=True):
        msg = r.msg
        parts = _parts(msg)
        html = parts["text/html"].get_content()
        cid = parts["image/png"]["Content-ID"].strip("<>")
        assert f"cid:{cid}" in html
        assert parts["image/png"].get_content().startswith(b"\x89PNG")
        att = next(msg.iter_attachments())
        assert att.get_filename() == f"{P1}-2024-{month}.pdf"
        assert att.get_content().startswith(b"%PDF")
        text = parts["text/plain"].get_content()
        assert re.search(rf"探访总人次（人次） \| ≥ 1,000 \| {visits} \|", text), text
        assert re.search(rf"探访对象人数（人） \| ≥ 100 \| {people} \|", text), text
        assert text.startswith("王小明：") and "王**" not in text
        for body in (text, html):  # nothing about the people served: no names, no ID numbers
            assert "测试0" not in body and "330182" not in body
    # The digest lists the projects running that month: P2 starts in September.
    digest_html = _parts(got[2].msg)["text/html"].get_content()
    assert P1 in digest_html and P2 not in digest_html
    # … and carries the month's portfolio as a workbook the bureau can filter
    att = next(got[2].msg.iter_attachments())
    assert att.get_filename() == "portfolio-2024-06.xlsx"
    assert att.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "portfolio-2024-06.xlsx（Excel）" in _parts(got[2].msg)["text/plain"].get_content()
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(att.get_content()), read_only=True)
    assert book.sheetnames == ["汇总", P1, "说明"]
    head, *rows = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    assert head[:2] == ["项目编号", "项目名称"] and [r[0] for r in rows] == [P1]
    n_kpis = sum(len(c.kpis) for c in ws.spec(P1).clauses)
    assert rows[0][head.index("指标数")] == n_kpis == len(list(book[P1].iter_rows())) - 1
    assert rows[0][head.index("统计截至")].date() == dt.date(2024, 6, 30)
    info = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert info["报告"] == "全市公益创投项目月度进度汇总（2024年6月）"


def test_midterm_and_final_reports_go_on_their_dates(db_url: str, smtp: LoopbackSmtp) -> None:
    ws = open_workspace(db_url, SPECS)
    add_contact(ws, P2, "ngo", "陈明", "p2@example.org", since=d("2024-09-01"))
    tick(ws, d("2024-11-30"), smtp=smtp.settings(), settings=FAST, kinds={"midterm"})
    assert smtp.received == []  # P2's mid-term date is 2024-12-01
    tick(ws, d("2024-12-01"), smtp=smtp.settings(), settings=FAST, kinds={"midterm"})
    tick(ws, d("2025-03-01"), smtp=smtp.settings(), settings=FAST, kinds={"final"})  # period ends 2025-02-28
    subjects = [str(r.msg["Subject"]) for r in smtp.received]
    assert subjects == [f"【公益创投中期报告】{P2} 困境儿童陪伴项目（测试区）2024年12月1日",
                        f"【公益创投终期报告】{P2} 困境儿童陪伴项目（测试区）2025年2月28日"]
    names = [next(r.msg.iter_attachments()).get_filename() for r in smtp.received]
    assert names == [f"{P2}-midterm.pdf", f"{P2}-final.pdf"]
    assert dt.date(2025, 3, 1) > d("2025-02-28")


def test_starttls_and_login_with_an_internal_ca(db_url: str, tmp_path: Path) -> None:
    """A server that requires STARTTLS and a login, its certificate signed by a CA given in
    TRACKER_SMTP_CAFILE; with the system CAs alone the certificate is refused and the row says why."""
    import shutil
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
    from schedule_support import Collector, free_port

    from tracker.scheduling.settings import SmtpSettings

    openssl = shutil.which("openssl")
    assert openssl, "openssl（Debian 包 openssl）用于生成测试证书"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def auth(server, session, envelope, mechanism, data):  # type: ignore[no-untyped-def]
        return AuthResult(success=(data.login, data.password) == (b"gycy", b"s3cret"))

    collector, port = Collector(), free_port()
    ctl = Controller(collector, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                     authenticator=auth, auth_require_tls=True)
    ctl.start()
    try:
        ws = open_workspace(db_url, SPECS)
        add_contact(ws, P2, "ngo", "陈明", "p2@example.org", since=d("2024-09-01"))
        base = dict(host="127.0.0.1", port=port, security="starttls", user="gycy", password="s3cret",
                    sender=SENDER, timeout=10.0)
        rows = tick(ws, d("2024-10-01"), smtp=SmtpSettings(**base), settings=FAST)  # type: ignore[arg-type]
        assert [(r.state, r.attempts) for r in rows] == [("retry", 1)]
        assert "CERTIFICATE_VERIFY_FAILED" in (rows[0].last_error or "")
        rows = tick(ws, d("2024-10-01"), smtp=SmtpSettings(**base, cafile=str(cert)), settings=FAST)  # type: ignore[arg-type]
        assert [(r.state, r.attempts) for r in rows] == [("sent", 2)]
        assert len(collector.received) == 1 and collector.received[0].rcpt_tos == ["p2@example.org"]
    finally:
        ctl.stop()
