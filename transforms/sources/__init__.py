"""Source readers: the only code that reads import files.

Every reader returns a `RawTable`: all cells as text (strings, never coerced), the header
names as the file has them (made unique), and `source_row`, the 1-based row number a
person sees when opening the file in Excel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from contracts.errors import SourceUnreadable

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


@dataclass(frozen=True)
class RawTable:
    frame: pl.DataFrame  # source_row + one Utf8 column per header
    headers: list[str]
    source: str  # excel | csv
    path: str = ""
    sheet: str | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def detect_source(path: Path, requested: str = "auto") -> str:
    if requested != "auto":
        return requested
    suffix = path.suffix.lower()
    if suffix in SPREADSHEET_SUFFIXES:
        return "excel"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise SourceUnreadable(
        str(path), f"unknown file type {suffix or '(none)'!r}",
        hint="give an .xlsx/.xlsm/.xls/.ods or .csv file, or say which with --source",
    )


def read_source(
    path: str | Path, *, source: str = "auto", sheet: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    from transforms.sources import spreadsheet

    p = Path(path)
    if p.is_dir():
        raise SourceUnreadable(str(p), "is a folder, not a file", hint="give the path of one file")
    if not p.is_file():
        raise SourceUnreadable(str(p), "no such file", hint="check the path")
    kind = detect_source(p, source)
    if kind == "excel":
        return spreadsheet.read_excel(p, sheet=sheet)
    if kind == "csv":
        return spreadsheet.read_csv(p, encoding=encoding)
    raise SourceUnreadable(
        str(p), f"the {kind!r} source is not available in this version",
        hint="use --source excel or csv",
    )
