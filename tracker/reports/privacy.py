"""Masking for anything a report shows: the records module's functions when present (issue 3),
otherwise the same rule here (keep the first character of a name, mask the rest)."""

from __future__ import annotations


def mask_name(s: str) -> str:
    try:
        from tracker.records.privacy import mask_name as _mask
    except ModuleNotFoundError:
        s = s.strip()
        if not s:
            return s
        return s[0] + "*" * max(1, len(s) - 1)
    return _mask(s)
