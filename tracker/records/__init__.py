"""Operators' records: import (files and rows), logging, templates, privacy, corrections.

Public functions (docs/architecture.md): ``import_file``, ``import_rows``, ``amend``, ``void``;
``tracker.records.privacy`` and ``tracker.records.visibility.visible``.
"""

from tracker.records.corrections import amend, void
from tracker.records.importer import ImportResult, RowError, import_file, import_rows
from tracker.records.ledger import DiffRow, FieldChange, LedgerDiff

__all__ = ["DiffRow", "FieldChange", "ImportResult", "LedgerDiff", "RowError", "amend", "import_file", "import_rows",
           "void"]
