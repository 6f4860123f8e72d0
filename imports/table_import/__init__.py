"""Importing a plan from its own table: a Word table saved as Excel, a spreadsheet, or the
funders' workbook this application exports.

Reading a file gives a `TableFile` (its sheet, header row and rows); the coordinator's
column mapping turns it into a `Preview` of what will be created and changed; `apply()`
writes that preview in one transaction. Every mistake is collected with its row and column,
and any mistake means nothing is written. An empty cell never erases anything.
"""

from imports.table_import.mapping import (
    IGNORE,
    column_name,
    field_choices,
    guess_mapping,
    samples,
)
from imports.table_import.preview import Preview, build_preview, partner_lines
from imports.table_import.reading import TableError, TableFile, cell_text, read
from imports.table_import.writing import apply, lock, summary

# The table import's steps, as its callers use them.
__all__ = [
    "IGNORE",
    "Preview",
    "TableError",
    "TableFile",
    "apply",
    "build_preview",
    "cell_text",
    "column_name",
    "field_choices",
    "guess_mapping",
    "lock",
    "partner_lines",
    "read",
    "samples",
    "summary",
]
