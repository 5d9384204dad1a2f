"""Source readers: the only code that reads import files.

Every reader returns a `RawTable`: all cells as text (strings, never coerced), the header
names as the file has them (made unique), and `source_row`, the 1-based row number a
person sees when opening the file in Excel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
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
    # contact exports read record by record (vCard, JSON): their values, already named by
    # canonical field (see transforms.sources.contacts), and what was left out
    long: pl.DataFrame | None = None
    unmapped: tuple[str, ...] = ()
    format: str | None = None  # outlook-csv, google-csv, vcard, jcard, xcard, people-api
    # records the reader could not take apart reliably (source_row, column, value, reason):
    # rejected as they are, never guessed at
    row_issues: pl.DataFrame | None = None


@dataclass(frozen=True)
class TableBatches:
    """A table read whole (a sheet), handed out in batches like a `CsvStream`."""
    table: RawTable

    @property
    def headers(self) -> list[str]:
        return self.table.headers

    @property
    def encoding(self) -> str | None:
        return self.table.encoding

    def count(self, size: int) -> int:
        return max(1, -(-self.table.frame.height // size))

    def batches(self, size: int) -> Iterator[RawTable]:
        """RawTables of `size` rows each, in file order (slices: no copy)."""
        t = self.table
        for start in range(0, max(t.frame.height, 1), size):
            frame = t.frame.slice(start, size)
            issues = t.row_issues
            if issues is not None and frame.height:
                issues = issues.filter(pl.col("source_row").is_between(
                    frame["source_row"].min(), frame["source_row"].max()))
            yield replace(t, frame=frame, row_issues=issues)


VCARD_SUFFIXES = {".vcf", ".vcard", ".xml"}
JSON_SUFFIXES = {".json"}
SOURCES = ("auto", "excel", "csv", "outlook", "google", "vcard")


def detect_source(path: Path, requested: str = "auto") -> str:
    """The reader for a file: excel | csv | vcard | json, from --source and the extension.

    Which address book wrote a CSV or spreadsheet (Outlook, Google) is told by its header
    signature after reading (`read_source`)."""
    suffix = path.suffix.lower()
    if requested in ("excel", "csv", "vcard"):
        return requested
    if requested in ("outlook", "google") and suffix not in (*VCARD_SUFFIXES, *JSON_SUFFIXES):
        return "excel" if suffix in SPREADSHEET_SUFFIXES else "csv"
    if suffix in SPREADSHEET_SUFFIXES:
        return "excel"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in VCARD_SUFFIXES:
        return "vcard"
    if suffix in JSON_SUFFIXES:
        return "json"
    raise SourceUnreadable(
        str(path), f"unknown file type {suffix or '(none)'!r}",
        hint="give an .xlsx/.xls/.ods, .csv, .vcf or .json file, or say which with --source",
    )


def read_source(
    path: str | Path, *, source: str = "auto", sheet: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Read any import file; `source` is --source (auto: by extension and header signature)."""
    from transforms.sources import spreadsheet
    from transforms.sources.contacts import detect_csv_export

    p = Path(path)
    if p.is_dir():
        raise SourceUnreadable(str(p), "is a folder, not a file", hint="give the path of one file")
    if not p.is_file():
        raise SourceUnreadable(str(p), "no such file", hint="check the path")
    if source not in SOURCES:
        raise SourceUnreadable(str(p), f"unknown --source {source!r}",
                               hint="one of: " + ", ".join(SOURCES))
    kind = detect_source(p, source)
    if kind in ("excel", "csv"):
        table = (spreadsheet.read_excel(p, sheet=sheet) if kind == "excel"
                 else spreadsheet.read_csv(p, encoding=encoding))
        export = source if source in ("outlook", "google") else (
            detect_csv_export(table.headers) if source == "auto" else None)
        if export:
            return replace(table, source=export, format=f"{export}-{table.source}")
        return table
    if kind == "json":
        return _read_json(p, source)
    from transforms.sources.vcard import read_vcard

    return read_vcard(p, encoding=encoding)


def _read_json(path: Path, source: str) -> RawTable:
    """A .json file: Google People API connections, or jCard."""
    import json

    from transforms.sources.people import is_people_json, read_people
    from transforms.sources.vcard import read_vcard

    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceUnreadable(str(path), f"not readable JSON: {exc}") from None
    if source == "google" or is_people_json(data):
        return read_people(path, data)
    return read_vcard(path)
