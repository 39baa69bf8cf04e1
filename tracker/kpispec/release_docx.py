"""A Word (.docx) release table as lines, in document order, with Word's list numbering rebuilt.

python-docx gives paragraphs and tables in document order only through the body's XML children.
Numbering produced by Word's list feature is not in the paragraph text: it lives in the paragraph's
(or its style's) ``w:numPr`` (``numId`` + ``ilvl``) and ``numbering.xml`` (each level's ``numFmt``,
``lvlText`` such as ``%1.`` or ``（%1）``, ``start``). The counters are kept per abstract list, and a
level's counter restarts when a higher level advances, as Word does. A table row becomes
``label：value`` followed by the value cell's further paragraphs, each on its own line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tracker.errors import TrackerError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_CN = "零一二三四五六七八九"


def _cn(n: int) -> str:
    if n < 10:
        return _CN[n]
    if n < 20:
        return "十" + (_CN[n % 10] if n % 10 else "")
    return _CN[n // 10] + "十" + (_CN[n % 10] if n % 10 else "")


def format_number(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "ideographTraditional", "chineseLegalSimplified",
               "taiwaneseCounting", "ideographDigital"):
        return _cn(n)
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= n <= 20:
        return _CIRCLED[n - 1]
    if fmt == "lowerLetter":
        return chr(ord("a") + (n - 1) % 26)
    if fmt == "upperLetter":
        return chr(ord("A") + (n - 1) % 26)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "bullet" or fmt == "none":
        return ""
    return str(n)  # decimal, decimalFullWidth, decimalZero …


def _roman(n: int) -> str:
    out = ""
    for v, s in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= v:
            out, n = out + s, n - v
    return out


class _Numbering:
    def __init__(self, doc: Any) -> None:
        self.levels: dict[str, dict[int, dict[str, Any]]] = {}  # abstractNumId → ilvl → level
        self.abstract_of: dict[str, str] = {}  # numId → abstractNumId
        self.overrides: dict[str, dict[int, int]] = {}  # numId → ilvl → start override
        self.counters: dict[str, dict[int, int]] = {}
        self.style_numpr: dict[str, tuple[str, int]] = {}
        try:
            root = doc.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            root = None
        if root is not None:
            for an in root.findall(f"{W}abstractNum"):
                aid = an.get(f"{W}abstractNumId")
                lv: dict[int, dict[str, Any]] = {}
                for lvl in an.findall(f"{W}lvl"):
                    il = int(lvl.get(f"{W}ilvl"))
                    fmt = lvl.find(f"{W}numFmt")
                    txt = lvl.find(f"{W}lvlText")
                    start = lvl.find(f"{W}start")
                    lv[il] = {"fmt": fmt.get(f"{W}val") if fmt is not None else "decimal",
                              "text": txt.get(f"{W}val") if txt is not None else f"%{il + 1}.",
                              "start": int(start.get(f"{W}val")) if start is not None else 1}
                self.levels[aid] = lv
            for num in root.findall(f"{W}num"):
                nid = num.get(f"{W}numId")
                ref = num.find(f"{W}abstractNumId")
                if ref is not None:
                    self.abstract_of[nid] = ref.get(f"{W}val")
                for ov in num.findall(f"{W}lvlOverride"):
                    so = ov.find(f"{W}startOverride")
                    if so is not None:
                        self.overrides.setdefault(nid, {})[int(ov.get(f"{W}ilvl"))] = int(so.get(f"{W}val"))
        for style in doc.styles.element.findall(f"{W}style"):
            numpr = style.find(f"{W}pPr/{W}numPr")
            if numpr is not None:
                nid = numpr.find(f"{W}numId")
                il = numpr.find(f"{W}ilvl")
                if nid is not None:
                    self.style_numpr[style.get(f"{W}styleId")] = (
                        nid.get(f"{W}val"), int(il.get(f"{W}val")) if il is not None else 0)

    def prefix(self, p: Any) -> str:
        """The number Word shows before paragraph ``p`` (a ``w:p`` element), or ''."""
        numpr = p.find(f"{W}pPr/{W}numPr")
        nid: str | None = None
        ilvl = 0
        if numpr is not None:
            n = numpr.find(f"{W}numId")
            il = numpr.find(f"{W}ilvl")
            nid = n.get(f"{W}val") if n is not None else None
            ilvl = int(il.get(f"{W}val")) if il is not None else 0
        else:
            st = p.find(f"{W}pPr/{W}pStyle")
            if st is not None and st.get(f"{W}val") in self.style_numpr:
                nid, ilvl = self.style_numpr[st.get(f"{W}val")]
        if not nid or nid == "0" or nid not in self.abstract_of:
            return ""
        aid = self.abstract_of[nid]
        levels = self.levels.get(aid, {})
        if ilvl not in levels:
            return ""
        counters = self.counters.setdefault(aid, {})
        start = self.overrides.get(nid, {}).get(ilvl, levels[ilvl]["start"])
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        text = levels[ilvl]["text"]
        for k in range(ilvl + 1):
            lv = levels.get(k, {"fmt": "decimal", "start": 1})
            value = counters.get(k, lv["start"])
            text = text.replace(f"%{k + 1}", format_number(value, lv["fmt"]))
        if levels[ilvl]["fmt"] == "bullet":
            return ""
        return text


def docx_lines(path: Path) -> list[str]:
    try:
        import docx
    except ImportError:  # pragma: no cover - a declared dependency
        raise TrackerError("读取 .docx 需要 python-docx（pip install python-docx）") from None
    try:
        doc = docx.Document(str(path))
    except Exception as e:  # python-docx raises several unrelated types for a broken package
        raise TrackerError(f"无法打开 Word 文件 {path.name}：{e}") from None
    numbering = _Numbering(doc)
    out: list[str] = []

    def para(p: Any) -> str:
        text = "".join((t.text or "") for t in p.iter(f"{W}t"))
        prefix = numbering.prefix(p)
        return (prefix + text) if text.strip() else ""

    for child in doc.element.body.iterchildren():
        if child.tag == f"{W}p":
            out.append(para(child))
        elif child.tag == f"{W}tbl":
            for tr in child.iter(f"{W}tr"):
                cells: list[list[str]] = []
                for tc in tr.findall(f"{W}tc"):
                    if tc.find(f"{W}tcPr/{W}vMerge") is not None and \
                            tc.find(f"{W}tcPr/{W}vMerge").get(f"{W}val") != "restart":
                        continue  # a vertically merged continuation: its text is in the cell above
                    cells.append([t for t in (para(p) for p in tc.findall(f"{W}p")) if t.strip()])
                cells = [c for c in cells if c]
                if not cells:
                    out.append("")
                    continue
                label = "".join(cells[0]).strip()
                values = [v for c in cells[1:] for v in c]
                if values:
                    sep = "" if label.endswith(("：", ":")) else "："
                    out.append(f"{label}{sep}{values[0]}")
                    out.extend(values[1:])
                else:
                    out.append(label)
            out.append("")
    return out
