"""Building the emails: HTML in Chinese with the KPI table and an inline chart (multipart/related,
Content-ID), a plain-text alternative, and the PDF report attached under a short ASCII name.

Layout of a message::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain            (the same table as text)
    │   └── multipart/related
    │       ├── text/html         (<img src="cid:…">)
    │       └── image/png         (Content-ID)
    └── application/pdf           (2024B004E-2024-11.pdf)

The recipient is greeted by their own name; nothing here holds a served person's name or an ID number
(the progress figures are counts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

import jinja2

from tracker.measure.types import STATUS_LABELS, KpiProgress, ProjectProgress
from tracker.text import fmt_num

SUBJECT_PREFIX = {
    "monthly": "【公益创投进度】",
    "midterm": "【公益创投中期报告】",
    "final": "【公益创投终期报告】",
    "digest": "【公益创投月度汇总】",
}
KIND_CN = {"monthly": "月度进度", "midterm": "中期报告", "final": "终期报告", "digest": "月度汇总"}
CMP = {">=": "≥", "<=": "≤", "==": "="}
STATUS_ORDER = ("met", "on_track", "behind", "missed", "pending")


@dataclass(frozen=True)
class Attachment:
    filename: str  # short and ASCII: some Chinese mail clients show long UTF-8 names as tcmime.*.bin
    data: bytes
    maintype: str = "application"
    subtype: str = "pdf"


def cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def cn_month(period: str) -> str:
    y, m = period.split("-")[:2]
    return f"{int(y)}年{int(m)}月"


def period_cn(kind: str, period: str) -> str:
    if kind in ("monthly", "digest"):
        return cn_month(period)
    return cn_date(dt.date.fromisoformat(period))


def subject_for(kind: str, code: str, name: str, period: str) -> str:
    if kind == "digest":
        return f"{SUBJECT_PREFIX[kind]}全市公益创投项目{period_cn(kind, period)}"
    return f"{SUBJECT_PREFIX[kind]}{code} {name}{period_cn(kind, period)}"


def kpi_row(k: KpiProgress) -> dict[str, str]:
    target = "—" if k.target is None else f"{CMP.get(k.comparator, k.comparator)} {fmt_num(k.target)}"
    return {
        "clause": str(k.clause), "label": k.label, "unit": k.unit, "target": target,
        "actual": fmt_num(k.actual), "expected": fmt_num(k.expected), "forecast": fmt_num(k.forecast),
        "completion": "—" if k.completion is None else f"{k.completion:g}%",
        "status": STATUS_LABELS.get(k.status, k.status), "status_key": k.status,
        "violations": str(k.violations) if k.violations else "",
    }


def status_summary(counts: dict[str, int]) -> str:
    return "，".join(f"{STATUS_LABELS[s]} {counts.get(s, 0)} 项" for s in STATUS_ORDER)


_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                          undefined=jinja2.StrictUndefined)

_STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;font-size:14px;color:#222}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #999;padding:3px 6px;font-size:13px}
th{background:#e8eef4}td.n{text-align:right}.behind,.missed{color:#b00000;font-weight:bold}
.met{color:#006400}.foot{color:#666;font-size:12px}
"""

_PROJECT_HTML = _ENV.from_string("""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ subject }}</title><style>{{ style }}</style></head>
<body>
<p>{{ greeting }}：</p>
<p>您好！以下是项目 <b>{{ p.project }} {{ p.name }}</b> 的{{ kind_cn }}（数据截至 {{ as_of }}）。
项目周期 {{ start }} 至 {{ end }}，中期评估日 {{ midterm }}。</p>
{% if facts %}
{% if facts.silent %}<p class="behind" id="silent">注意：本月（{{ facts.month_start.month }}月）尚未导入任何记录。如本月已开展服务，请尽快录入；如确未开展，请在下月报送时说明原因。</p>{% endif %}
<h3>本月变化</h3>
{% if facts.changes %}<ul id="changes">{% for x in facts.changes %}<li>{{ x }}</li>{% endfor %}</ul>{% else %}<p>本月各项指标没有新增完成量。</p>{% endif %}
{% if facts.needed %}<h3>按期完成每月须完成</h3><ul id="needed">{% for x in facts.needed %}<li class="behind">{{ x }}</li>{% endfor %}</ul>{% endif %}
{% if facts.new_violations %}<h3>新增违规记录</h3><ul id="violations">{% for x in facts.new_violations %}<li>{{ x }}</li>{% endfor %}</ul><p>请在系统中逐条核对，确属登记错误的请更正并写明原因。</p>{% endif %}
{% if facts.missing_evidence %}<h3>尚缺的佐证材料</h3><ul id="evidence">{% for x in facts.missing_evidence %}<li>{{ x }}</li>{% endfor %}</ul><p>请补传签到表、照片或成果文件。</p>{% endif %}
{% if facts.due_soon %}<h3>未来 60 天内到期</h3><ul id="due">{% for x in facts.due_soon %}<li>{{ x }}</li>{% endfor %}</ul>{% endif %}
{% endif %}
<p>指标状态：{{ summary }}。</p>
<table>
<tr><th>条款</th><th>指标</th><th>目标</th><th>实际</th><th>进度要求</th><th>期末预计</th><th>完成率</th><th>状态</th><th>违规记录</th></tr>
{% for r in rows %}
<tr><td class="n">{{ r.clause }}</td><td>{{ r.label }}（{{ r.unit }}）</td><td class="n">{{ r.target }}</td>
<td class="n">{{ r.actual }}</td><td class="n">{{ r.expected }}</td><td class="n">{{ r.forecast }}</td>
<td class="n">{{ r.completion }}</td><td class="{{ r.status_key }}">{{ r.status }}</td><td class="n">{{ r.violations }}</td></tr>
{% endfor %}
</table>
{% if cid %}<p><img src="cid:{{ cid }}" alt="各条款指标状态" style="max-width:640px"></p>{% endif %}
{% if attachment %}<p>完整报告见附件 {{ attachment }}（PDF）。</p>{% endif %}
<p class="foot">本邮件由公益创投项目跟踪系统自动发送，请勿直接回复。数据以系统内运营记录为准；如有疑问请联系项目主管部门。</p>
</body></html>
""")

_DIGEST_HTML = _ENV.from_string("""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ subject }}</title><style>{{ style }}</style></head>
<body>
<p>{{ greeting }}：</p>
<p>您好！以下是 {{ period }} 全市公益创投项目的进度汇总（数据截至 {{ as_of }}），共 {{ rows|length }} 个项目。</p>
{% if silent %}<p class="behind" id="silent">本月没有录入任何记录的项目（{{ silent|length }} 个，请督促）：{{ silent|join("、") }}</p>{% endif %}
{% if behind %}<p id="behind">有指标滞后或未达标的项目（{{ behind|length }} 个）：{{ behind|join("、") }}</p>{% endif %}
<table>
<tr><th>项目编号</th><th>项目名称</th>{% if has_recorded %}<th>本月记录</th>{% endif %}{% for s in statuses %}<th>{{ s }}</th>{% endfor %}</tr>
{% for r in rows %}
<tr><td>{{ r.code }}</td><td>{{ r.name }}</td>{% if has_recorded %}<td class="n{% if r.recorded == 0 %} behind{% endif %}">{{ r.recorded }}</td>{% endif %}{% for c in r.counts %}<td class="n">{{ c }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% if failed %}<p class="behind">以下项目本月进度未能计算，已记录并将重试：{{ failed|join("、") }}</p>{% endif %}
{% if cid %}<p><img src="cid:{{ cid }}" alt="各项目指标状态" style="max-width:640px"></p>{% endif %}
{% if attachment %}<p>明细见附件 {{ attachment }}。</p>{% endif %}
<p class="foot">本邮件由公益创投项目跟踪系统自动发送，请勿直接回复。</p>
</body></html>
""")


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(" | ".join(r) for r in [header, *rows])


def facts_text(facts: Any) -> list[str]:
    if facts is None:
        return []
    out: list[str] = []
    if facts.silent:
        out += [f"注意：本月（{facts.month_start.month}月）尚未导入任何记录。如本月已开展服务，请尽快录入；"
                "如确未开展，请在下月报送时说明原因。", ""]
    out += ["【本月变化】", *([f"- {x}" for x in facts.changes] or ["本月各项指标没有新增完成量。"]), ""]
    for title, items, tail in (("【按期完成每月须完成】", facts.needed, ""),
                               ("【新增违规记录】", facts.new_violations, "请在系统中逐条核对，确属登记错误的请更正并写明原因。"),
                               ("【尚缺的佐证材料】", facts.missing_evidence, "请补传签到表、照片或成果文件。"),
                               ("【未来 60 天内到期】", facts.due_soon, "")):
        if items:
            out += [title, *[f"- {x}" for x in items], *([tail] if tail else []), ""]
    return out


def project_text(p: ProjectProgress, kind: str, greeting: str, attachment: str | None, facts: Any = None) -> str:
    rows = [kpi_row(k) for k in p.kpis]
    lines = [
        f"{greeting}：", "",
        f"您好！以下是项目 {p.project} {p.name} 的{KIND_CN[kind]}（数据截至 {cn_date(p.as_of)}）。",
        f"项目周期 {cn_date(p.period_start)} 至 {cn_date(p.period_end)}，中期评估日 {cn_date(p.midterm)}。", "",
        *facts_text(facts),
        f"指标状态：{status_summary(p.counts())}。", "",
        _text_table(["条款", "指标", "目标", "实际", "进度要求", "期末预计", "完成率", "状态", "违规记录"],
                    [[r["clause"], f"{r['label']}（{r['unit']}）", r["target"], r["actual"], r["expected"],
                      r["forecast"], r["completion"], r["status"], r["violations"] or "0"] for r in rows]),
        "",
    ]
    if attachment:
        lines.append(f"完整报告见附件 {attachment}（PDF）。")
    lines.append("本邮件由公益创投项目跟踪系统自动发送，请勿直接回复。")
    return "\n".join(lines) + "\n"


def _assemble(subject: str, sender: str, recipient: str, recipient_name: str, text: str, html: str,
              chart: bytes | None, cid: str | None, attachments: list[Attachment]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = formataddr((recipient_name, recipient))
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if chart is not None and cid is not None:
        html_part = msg.get_payload()[1]  # type: ignore[index]
        html_part.add_related(chart, maintype="image", subtype="png", cid=f"<{cid}>",
                              filename="chart.png", disposition="inline")
    for a in attachments:
        msg.add_attachment(a.data, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
    return msg


def _cid(sender: str) -> str:
    return make_msgid(idstring="chart", domain=sender.rsplit("@", 1)[-1])[1:-1]


def project_email(p: ProjectProgress, *, kind: str, period: str, sender: str, recipient: str,
                  recipient_name: str, chart: bytes | None, pdf: Attachment | None,
                  facts: Any = None) -> EmailMessage:
    """The monthly progress email (or the mid-term / final report email) of one project. The
    recipient is greeted by their own name (it is theirs: never masked)."""
    subject = subject_for(kind, p.project, p.name, period)
    greeting = greeting_for(recipient_name)
    cid = _cid(sender) if chart is not None else None
    html = _PROJECT_HTML.render(
        subject=subject, style=_STYLE, greeting=greeting, p=p, kind_cn=KIND_CN[kind],
        as_of=cn_date(p.as_of), start=cn_date(p.period_start), end=cn_date(p.period_end),
        midterm=cn_date(p.midterm), summary=status_summary(p.counts()),
        rows=[kpi_row(k) for k in p.kpis], cid=cid, attachment=pdf.filename if pdf else None, facts=facts)
    text = project_text(p, kind, greeting, pdf.filename if pdf else None, facts)
    return _assemble(subject, sender, recipient, greeting, text, html, chart, cid, [pdf] if pdf else [])


def digest_email(progresses: list[ProjectProgress], *, period: str, as_of: dt.date, sender: str,
                 recipient: str, recipient_name: str, chart: bytes | None,
                 attachment: Attachment | None = None, failed: list[str] | None = None,
                 recorded: dict[str, int] | None = None) -> EmailMessage:
    """The bureau's monthly portfolio digest: status counts for every project running that month,
    the projects that recorded nothing in the month first, then those with the most KPIs behind."""
    subject = subject_for("digest", "*", "", period)
    greeting = greeting_for(recipient_name)
    cid = _cid(sender) if chart is not None else None
    rows = []
    for p in progresses:
        c = p.counts()
        n = None if recorded is None else recorded.get(p.project, 0)
        rows.append({"code": p.project, "name": p.name, "counts": [c.get(s, 0) for s in STATUS_ORDER],
                     "recorded": n, "behind": c.get("behind", 0) + c.get("missed", 0)})
    rows.sort(key=lambda r: (r["recorded"] != 0, -r["behind"]))
    silent = [f"{r['code']} {r['name']}" for r in rows if r["recorded"] == 0]
    behind = [f"{r['code']} {r['name']}（{r['behind']} 项）" for r in rows if r["behind"] and r["recorded"] != 0]
    statuses = [STATUS_LABELS[s] for s in STATUS_ORDER]
    html = _DIGEST_HTML.render(subject=subject, style=_STYLE, greeting=greeting, period=cn_month(period),
                               as_of=cn_date(as_of), rows=rows, statuses=statuses, cid=cid, silent=silent,
                               behind=behind, has_recorded=recorded is not None,
                               failed=failed or [], attachment=attachment.filename if attachment else None)
    text = "\n".join([
        f"{greeting}：", "",
        f"您好！以下是 {cn_month(period)} 全市公益创投项目的进度汇总（数据截至 {cn_date(as_of)}），共 {len(rows)} 个项目。",
        *([f"本月没有录入任何记录的项目（{len(silent)} 个，请督促）：{'、'.join(silent)}"] if silent else []),
        *([f"有指标滞后或未达标的项目（{len(behind)} 个）：{'、'.join(behind)}"] if behind else []),
        "", _text_table(["项目编号", "项目名称", *(["本月记录"] if recorded is not None else []), *statuses],
                        [[r["code"], r["name"], *([str(r["recorded"])] if recorded is not None else []),
                          *map(str, r["counts"])] for r in rows]), "",
        *([f"以下项目本月进度未能计算，已记录并将重试：{'、'.join(failed)}"] if failed else []),
        *([f"各项目的指标明细见附件 {attachment.filename}（Excel）。"] if attachment else []),
        "本邮件由公益创投项目跟踪系统自动发送，请勿直接回复。", ""])
    return _assemble(subject, sender, recipient, greeting, text, html, chart, cid,
                     [attachment] if attachment else [])


def greeting_for(name: str) -> str:
    """The recipient's own name as the greeting (a contact is never shown someone else's name)."""
    return name.strip() or "各位同事"
