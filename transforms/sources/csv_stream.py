"""A large CSV, a batch of rows at a time: the table `spreadsheet.read_csv` gives, row
numbers and all, without the whole file (or its decoded text) in memory.

One streaming pass finds the widest line, a second turns the cells into a Parquet file in
a scratch folder (polars' streaming engine: memory stays flat whatever the file's size);
batches are slices of it. Only UTF-8 files stream: another encoding is decoded whole by
`read_csv`, which finds out which one it is.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contracts.errors import SourceUnreadable
from transforms.export import is_our_export, unneutralise
from transforms.sources.spreadsheet import (
    HEADER_SCAN_ROWS,
    Header,
    _delimiter,
    _without_comments,
    body_of,
    check_width,
    header_of,
    quoted_hash_values,
)
from transforms.sources.table import RawTable

HEAD = 1 << 20  # bytes read to find the separator and the encoding


def count_lines(path: Path) -> int:
    """Lines in a file (a last line without a newline counts), read in blocks."""
    n, last = 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


def _utf8_head(path: Path) -> tuple[str, str] | None:
    """(the file's first bytes as text, encoding) if it is UTF-8 (BOM or not), else None."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD)
    encoding = "utf-8"
    if head.startswith(codecs.BOM_UTF8):
        head, encoding = head[len(codecs.BOM_UTF8):], "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:4096]:
        return None
    if b"\r" in head and b"\n" not in head:  # old Mac line ends: read whole (they are made \n)
        return None
    try:
        return head.decode("utf-8"), encoding
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # (not just a character cut at the end of the sample)
            return None
        return head[:exc.start].decode("utf-8"), encoding


@dataclass(frozen=True)
class CsvStream:
    path: Path
    cells: Path  # Parquet: `_i` (record index) + the cell columns, all text
    header: Header
    records: int  # cell rows in the file, the header's included
    sep: str
    encoding: str  # utf-8, or utf-8-sig (with a byte order mark)
    ours: bool = False  # a CSV export of ours: its added apostrophes come off
    quoted: frozenset[str] = frozenset()  # quoted first cells starting with # (data)

    @property
    def headers(self) -> list[str]:
        return self.header.headers

    def count(self, size: int) -> int:
        """How many batches of `size` records."""
        return max(1, -(-(self.records - self.header.at - 1) // size))

    def batches(self, size: int) -> Iterator[RawTable]:
        """RawTables of `size` records each (blank rows dropped), in file order."""
        scan = pl.scan_parquet(self.cells)
        for start in range(self.header.at + 1, self.records, size):
            cells = _without_comments(
                scan.slice(start, size).collect().drop("_i").select(self.header.columns),
                self.quoted)
            if self.ours:
                cells = unneutralise(cells)
            body, issues = body_of(cells, self.header, first_row=start + 1, source="csv",
                                   sep=self.sep)
            yield RawTable(body, self.header.headers, "csv", path=str(self.path),
                           encoding=self.encoding, row_issues=issues)


def open_csv_stream(path: Path, folder: Path) -> CsvStream | None:
    """Prepare `path` for reading in batches (its cells go to `folder`); None when the file
    is not UTF-8 (read it whole instead)."""
    found = _utf8_head(path)
    if found is None:
        return None
    head, encoding = found
    sep = _delimiter(head)
    try:
        # polars takes the field count from the first line: give it the widest line's
        lines = pl.scan_csv(path, has_header=False, separator="\x1f", quote_char=None,
                            schema={"line": pl.String}, truncate_ragged_lines=True,
                            comment_prefix=None)
        stats = lines.select(
            pl.col("line").str.count_matches(sep, literal=True).max().alias("widest"),
            pl.col("line").filter(pl.col("line").str.starts_with('"#')).alias("quoted")
            .implode()).collect(engine="streaming")
        widest = stats["widest"][0] or 0
        quoted = quoted_hash_values(stats["quoted"][0])
        check_width(widest + 1, path)
        cells = folder / "cells.parquet"
        (pl.scan_csv(path, has_header=False, separator=sep, truncate_ragged_lines=True,
                     comment_prefix=None, missing_columns="insert",
                     schema={f"column_{i + 1}": pl.String for i in range(widest + 1)})
         .with_row_index("_i")
         .sink_parquet(cells, row_group_size=100_000, compression="lz4"))
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower():  # invalid UTF-8 past the sample: read it whole
            return None
        raise SourceUnreadable(str(path), f"not a readable CSV: {str(exc).splitlines()[0]}") from None
    except pl.exceptions.PolarsError as exc:
        raise SourceUnreadable(str(path), f"not a readable CSV: {str(exc).splitlines()[0]}") from None
    scan = pl.scan_parquet(cells)
    stats = scan.select(pl.len().alias("_n"), pl.exclude("_i").null_count()).collect()
    records = stats["_n"][0]
    # columns only a quoted separator suggested, empty from top to bottom
    columns = [c for c in stats.columns[1:] if stats[c][0] < records] or [stats.columns[1]]
    top = _without_comments(scan.head(HEADER_SCAN_ROWS).select(columns).collect(), quoted)
    ours = is_our_export(head[:400])
    return CsvStream(path, cells, header_of(unneutralise(top) if ours else top, path), records,
                     sep, encoding, ours, quoted)
