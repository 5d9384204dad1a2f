"""Source readers: the only code that reads import files.

Every reader returns a `RawTable` (`transforms.sources.table`): all cells as text (strings,
never coerced), the header names as the file has them (made unique), and `source_row`, the
1-based row number a person sees when opening the file in Excel. Which reader takes a file
is decided by one list, `transforms.sources.registry.READERS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transforms.sources.registry import (
    ADDRESS_BOOKS,
    IMPORTABLE,
    READERS,
    SOURCES,
    Reader,
    detect_source,
    read_source,
    reader_of,
)

if TYPE_CHECKING:
    from transforms.sources.table import RawTable, TableBatches


def __getattr__(name: str) -> Any:
    # the tables need polars; the registry does not (the CLI's help lists the sources fast)
    if name in ("RawTable", "TableBatches"):
        from transforms.sources import table

        return getattr(table, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ADDRESS_BOOKS", "IMPORTABLE", "READERS", "SOURCES", "RawTable", "Reader",
           "TableBatches", "detect_source", "read_source", "reader_of"]
