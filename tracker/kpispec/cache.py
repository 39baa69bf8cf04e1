"""A cache of validated specs, keyed by content, so a command does not parse and check 43 YAML files.

An entry holds one spec that passed every check (schema, cross-references and, when asked, the
release table), as JSON. Its key is the SHA-256 of: the spec file's bytes, the release table's bytes
(or nothing when that check was not asked for), and a fingerprint of tracker's own code (its version
and the size and modification time of every module). A changed spec file, release table or tracker
gets a new key, so it is parsed and checked again at once; nothing is ever invalidated by hand.

Entries live in ``$TRACKER_CACHE`` (default ``$XDG_CACHE_HOME/tracker`` or ``~/.cache/tracker``),
one file each, written to a temporary name and renamed into place: two processes writing the same
entry both write the same bytes, and a reader never sees half a file. An entry starts with the
SHA-256 of its payload; an entry that does not match it, or does not validate, is ignored and
rewritten. A cache directory that cannot be written is no error: specs are then parsed every time.
Only valid specs are stored; a spec with a problem is checked afresh on every run, so its messages
are always current.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.kpispec.model import Spec

FORMAT = "spec-cache-1"
MAX_ENTRIES = 4000
_MEMORY: dict[str, Spec] = {}
_CODE_FINGERPRINT: str | None = None


def cache_dir() -> Path:
    explicit = os.environ.get("TRACKER_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tracker"


def code_fingerprint() -> str:
    """tracker's version and the size and modification time of each of its modules."""
    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        from tracker import __version__

        package = Path(__file__).resolve().parent.parent
        h = hashlib.sha256(f"{FORMAT}\0{__version__}".encode())
        for path in sorted(package.rglob("*.py")):
            st = path.stat()
            h.update(f"\0{path.relative_to(package)}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        _CODE_FINGERPRINT = h.hexdigest()
    return _CODE_FINGERPRINT


def key(spec_sha256: str, release_sha256: str | None) -> str:
    text = f"{code_fingerprint()}\0{spec_sha256}\0{release_sha256 or '-'}"
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(k: str) -> Path:
    return cache_dir() / "specs" / f"{k}.json"


def get(k: str) -> Spec | None:
    """The cached spec for key ``k``, or None (not cached, unreadable or corrupt)."""
    if k in _MEMORY:
        return _MEMORY[k]
    try:
        data = _entry(k).read_bytes()
    except OSError:
        return None
    digest, _, payload = data.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        return None
    from pydantic import ValidationError

    from tracker.kpispec.model import Spec

    try:
        spec = Spec.model_validate_json(payload, context={"cached": True})  # checked when cached
    except (ValidationError, ValueError):
        return None
    _MEMORY[k] = spec
    return spec


def put(k: str, spec: Spec) -> None:
    """Store ``spec`` under ``k``; silently does nothing when the cache cannot be written."""
    _MEMORY[k] = spec
    payload = spec.model_dump_json(exclude_unset=True, by_alias=True).encode()
    data = hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    target = _entry(k)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(target.parent)
    except OSError:
        return


def _prune(directory: Path) -> None:
    """Keep the cache small: past MAX_ENTRIES entries, drop the older half."""
    try:
        entries = [e for e in os.scandir(directory) if e.name.endswith(".json")]
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda e: e.stat().st_mtime)
        for e in entries[: len(entries) // 2]:
            Path(e.path).unlink(missing_ok=True)
    except OSError:
        return


def clear_memory() -> None:
    """Forget the entries this process holds (the files stay)."""
    _MEMORY.clear()
