"""Operators' records: import (files and rows), logging, templates, privacy, corrections.

Public functions (docs/architecture.md): ``import_file``, ``import_rows``, ``amend``, ``void``;
``tracker.records.privacy`` and ``tracker.records.visibility.visible``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.records.corrections import amend, void
    from tracker.records.importer import ImportResult, RowError, import_file, import_rows
    from tracker.records.ledger import DiffRow, FieldChange, LedgerDiff

# Imported when first asked for, so that ``tracker.records.privacy`` or ``.columns`` do not bring in
# pandas and the import pipeline.
_LAZY = {"amend": "corrections", "void": "corrections", "ImportResult": "importer", "RowError": "importer",
         "import_file": "importer", "import_rows": "importer",
         "DiffRow": "ledger", "FieldChange": "ledger", "LedgerDiff": "ledger"}
__all__ = ["DiffRow", "FieldChange", "ImportResult", "LedgerDiff", "RowError", "amend", "import_file", "import_rows",
           "void"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"tracker.records.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tracker.records' has no attribute {name!r}")
