"""What every reader returns: a `RawTable` (all cells as text, the header names as the file
has them, `source_row` as a person sees it), and `TableBatches`, a table handed out in
batches like a streamed CSV."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import polars as pl


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
    # a live source's records as the service sent them: (source_row, record as JSON), what
    # staging.raw_rows keeps instead of `frame`
    records: pl.DataFrame | None = None


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
