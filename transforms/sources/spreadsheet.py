"""Spreadsheets (fastexcel) and CSV (polars), read as text with a found header row."""

from __future__ import annotations

import ctypes
import re
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl

from contracts.errors import NoRows, SourceUnreadable
from transforms.export import is_our_export, unneutralise
from transforms.sources.table import RawTable
from transforms.sources.text import decode_text, read_bytes

HEADER_SCAN_ROWS = 30


def _first_row_number_xlsx(path: Path, sheet_index: int) -> int:
    """1-based row of the first non-empty row: calamine drops leading empty rows."""
    try:
        with zipfile.ZipFile(path) as zf:
            rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
            rids = re.findall(r"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"", book)
            if sheet_index >= len(rids):
                return 1
            target = re.search(
                rf"<Relationship\b[^>]*?Id=\"{re.escape(rids[sheet_index])}\"[^>]*?Target=\"([^\"]+)\"",
                rels,
            ) or re.search(
                rf"<Relationship\b[^>]*?Target=\"([^\"]+)\"[^>]*?Id=\"{re.escape(rids[sheet_index])}\"",
                rels,
            )
            if not target:
                return 1
            name = target.group(1).lstrip("/")
            name = name if name.startswith("xl/") else f"xl/{name}"
            with zf.open(name) as fh:
                head = fh.read(1 << 20).decode("utf-8", "replace")
        # first row that holds a value (<c> with <v> or inline string)
        for m in re.finditer(r"<(?:\w+:)?row\b[^>]*?\br=\"(\d+)\"[^>]*?(/>|>(.*?)</(?:\w+:)?row>)",
                             head, re.S):
            if m.group(3) and re.search(r"<(?:\w+:)?(v|t)\b", m.group(3)):
                return int(m.group(1))
    except (KeyError, zipfile.BadZipFile, OSError):
        pass
    return 1


def find_header(cells: pl.DataFrame) -> int:
    """Index of the header row: the first of the top rows filled like the widest row.

    A title row ("Customers 2026") or blank rows above the header have fewer cells.
    """
    top = cells.head(HEADER_SCAN_ROWS)
    filled = top.select(
        pl.sum_horizontal(
            [pl.col(c).is_not_null() & (pl.col(c).str.strip_chars() != "") for c in top.columns]
        ).alias("n")
    )["n"]
    widest = int(filled.max() or 0)  # type: ignore[arg-type]
    if widest == 0:
        return -1
    need = max(1, min(2, widest), int(widest * 0.6 + 0.5))
    full = next(i for i, n in enumerate(filled) if n >= need)
    # A header may name fewer columns than its rows fill: a row of two or more names above
    # the first full row is the header, unless it holds data (an e-mail, a long number or
    # date), as a title block "Exported: 2026-11-28" does. Else that row would vanish.
    data = top.select(pl.any_horizontal(pl.col(c).str.contains(r"@|\d{3,}").fill_null(False)
                                        for c in top.columns).alias("d"))["d"]
    return next((i for i in range(full) if filled[i] >= min(2, widest) and not data[i]), full)


RESERVED = ("source_row",)  # our own column beside the file's: a header so named gets a number


def _unique_headers(raw: list[str | None]) -> list[str]:
    seen: dict[str, int] = dict.fromkeys(RESERVED, 1)
    out = []
    for i, h in enumerate(raw):
        name = (h or "").strip() or f"column {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append(name)
    return out


@dataclass(frozen=True)
class Header:
    """Where a table's header is and what it names (see `find_header`)."""
    at: int  # index of the header row among the cells
    headers: list[str]  # unique names, one per cell column up to the last named one
    columns: list[str]  # the cell columns, in order
    beyond: list[str]  # names of cell columns right of the last named header


# a line whose first cell is quoted and starts with #: data ("#1 Pizza AS"), not a comment
QUOTED_HASH = r'^"(#(?:[^"]|"")*)"'


def quoted_hash_values(lines: pl.Series) -> frozenset[str]:
    """The first cells, as values, of the lines that quote a leading # (see QUOTED_HASH)."""
    found = lines.str.extract(QUOTED_HASH, 1).drop_nulls().str.replace_all('""', '"',
                                                                         literal=True)
    return frozenset(found.to_list())


def _without_comments(cells: pl.DataFrame, quoted: frozenset[str] = frozenset()
                      ) -> pl.DataFrame:
    """Lines whose first cell starts with an unquoted # are notes, not rows. Parsed cells
    have lost their quotes: `quoted` names the first cells that had them."""
    if not cells.width:
        return cells
    first = cells.columns[0]
    comment = pl.col(first).str.starts_with("#") & ~pl.col(first).is_in(list(quoted))
    return cells.with_columns(
        pl.when(comment).then(None).otherwise(pl.col(c)).alias(c) for c in cells.columns)


def header_of(cells: pl.DataFrame, path: Path) -> Header:
    header_at = find_header(cells)
    if header_at < 0:
        raise NoRows(str(path), "the sheet is empty")
    named = [cells[c][header_at] for c in cells.columns]
    headers = _unique_headers(named)
    last = max((i for i, h in enumerate(named) if h is not None and h.strip()), default=-1)
    return Header(header_at, headers[:last + 1], list(cells.columns), headers[last + 1:])


def body_of(cells: pl.DataFrame, header: Header, *, first_row: int, source: str,
            sep: str = ",") -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(rows, row issues) of cells below the header; `first_row`: the row of cells[0].

    Blank rows are dropped; `source_row` is the row a person sees in Excel."""
    names = header.headers + header.beyond
    body = (
        cells.rename(dict(zip(header.columns, names, strict=True)))
        .with_columns(pl.all().str.strip_chars().replace("", None))
        .with_row_index("source_row", offset=first_row)
        .with_columns(pl.col("source_row").cast(pl.Int64))
        .filter(pl.any_horizontal(pl.exclude("source_row").is_not_null()))
    )
    issues = None
    if header.beyond and source == "csv":
        # cells right of the last named header: a row reaching there has more fields than the
        # header (an unquoted separator inside a value); its fields cannot be told apart
        ragged = body.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in header.beyond]))
        if ragged.height:
            issues = ragged.select(
                "source_row", pl.lit("(row)").alias("column"),
                pl.concat_str([pl.col(h).fill_null("") for h in names], separator=sep)
                .str.strip_chars_end(sep).alias("value"),
                pl.lit(f"more fields than the header's {len(header.headers)}: a value holds an "
                       "unquoted separator, so its fields cannot be told apart").alias("reason"))
    if header.beyond:
        body = body.drop(header.beyond)
    return body, issues


MAX_COLUMNS = 5_000  # an export has dozens; a wider file is refused before it is parsed


def check_width(columns: int, path: Path) -> None:
    """A table wider than MAX_COLUMNS is no contacts export (a million-column header took
    14 GB to parse): refused with what to do."""
    if columns > MAX_COLUMNS:
        raise SourceUnreadable(str(path), f"{columns:,} columns, more than the {MAX_COLUMNS:,} "
                               "an import reads", hint="remove the empty or unneeded columns, "
                               "or split the file")


def table_from_cells(cells: pl.DataFrame, *, first_row: int, path: Path, source: str,
                     sheet: str | None = None, encoding: str | None = None,
                     comments: bool = False, sep: str = ",",
                     quoted: frozenset[str] = frozenset()) -> RawTable:
    """Header found, blank rows dropped, `source_row` added (first_row: row of cells[0]).

    With `comments`, lines whose first cell starts with an unquoted # are notes, not rows
    (numbered first, so that row numbers stay the file's)."""
    check_width(cells.width, path)
    if comments:
        cells = _without_comments(cells, quoted)
    header = header_of(cells, path)
    body, issues = body_of(cells.slice(header.at + 1), header,
                           first_row=first_row + header.at + 1, source=source, sep=sep)
    return RawTable(body, header.headers, source, path=str(path), sheet=sheet, encoding=encoding,
                    row_issues=issues)


EXCEL_ERRORS = {"Div0": "#DIV/0!", "NA": "#N/A", "Ref": "#REF!", "Name": "#NAME?",
                "Value": "#VALUE!", "Num": "#NUM!", "Null": "#NULL!", "GettingData": "#GETTING_DATA"}


def _with_error_cells(cells: pl.DataFrame, errors: Any) -> pl.DataFrame:
    """Put formula errors back where calamine left null: a #N/A is not an empty cell.

    The contracts then reject the row ("a formula error in the file"), instead of the
    import silently treating the cell as empty.
    """
    found = [(e.position[0], e.position[1], e.detail) for e in (errors.errors if errors else [])]
    if not found:
        return cells
    marks = pl.DataFrame(found, schema={"_r": pl.Int64, "_c": pl.Int64, "_d": pl.String}, orient="row")
    marks = marks.with_columns(
        pl.col("_d").str.extract(r"Error\((\w+)\)").replace_strict(
            EXCEL_ERRORS, default=pl.lit("#VALUE!")).alias("_v"))
    out = cells.with_row_index("_r").with_columns(pl.col("_r").cast(pl.Int64))
    for c in marks["_c"].unique().to_list():
        name = cells.columns[c]
        fix = marks.filter(pl.col("_c") == c).select("_r", pl.col("_v").alias("_fix"))
        out = (out.join(fix, on="_r", how="left")
               .with_columns(pl.coalesce(pl.col("_fix"), pl.col(name)).alias(name)).drop("_fix"))
    return out.drop("_r")


TRIM_ROWS = 100_000


def _release_freed_memory() -> None:
    """Hand memory freed by the sheet's parse back to the system.

    calamine's cells of a 1M-row sheet are freed once they are a frame, but glibc keeps the
    pages (~300 MB at 1M rows): the import would carry them through every later stage."""
    with suppress(OSError, AttributeError):  # (not glibc: nothing to do)
        ctypes.CDLL("libc.so.6").malloc_trim(0)


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_excel(path: Path, *, sheet: str | None = None) -> RawTable:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise NoRows(str(path), "the file is empty (0 bytes)")
    if head == OLE_MAGIC and path.suffix.lower() in (".xlsx", ".xlsm"):
        # an .xlsx inside an OLE container is an encrypted (password-protected) workbook
        raise SourceUnreadable(str(path), "the workbook is password-protected (encrypted)",
                               hint="open it in Excel and save a copy without a password")
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error types per format
        raise SourceUnreadable(str(path), str(exc).splitlines()[0]) from None
    names = reader.sheet_names
    if sheet is not None:
        if sheet not in names:
            raise SourceUnreadable(str(path), f"no sheet named {sheet!r}",
                                   hint=f"sheets in this file: {', '.join(names)}")
        candidates = [names.index(sheet)]
    else:
        candidates = list(range(len(names)))
    header_only: RawTable | None = None
    for idx in candidates:
        # every cell as text: leading zeros kept, nothing coerced to null (cast in contracts)
        loaded = reader.load_sheet(idx, header_row=None, dtypes="string")
        if sheet is None and (loaded.visible != "visible" or loaded.height == 0):
            continue
        batch, errors = loaded.to_arrow_with_errors()
        cells = _with_error_cells(pl.DataFrame(batch), errors)
        if cells.width == 0 or cells.height == 0:
            continue
        first = _first_row_number_xlsx(path, idx) if path.suffix.lower() in (".xlsx", ".xlsm") else 1
        table = table_from_cells(cells, first_row=first, path=path, source="excel",
                                 sheet=names[idx])
        if cells.height > TRIM_ROWS:
            del loaded, batch, errors, cells
            _release_freed_memory()
        if table.frame.height or sheet is not None:
            return table
        header_only = header_only or table
    if header_only is not None:  # an untouched template: its headers, and no rows
        return header_only
    raise NoRows(str(path), "no visible sheet has data rows")


def _delimiter(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(path: Path, *, encoding: str | None = None) -> RawTable:
    data = read_bytes(path)
    text, used = decode_text(data, path=str(path), encoding=encoding)
    cr_only = "\r" in text and "\n" not in text  # old Mac line ends
    if cr_only:
        text = text.replace("\r", "\n")
    sep = _delimiter(text)
    # polars takes the field count from the first line; a title line, a comment or a blank
    # line first would cut every row short. A first line of separators sets the widest count.
    # Lines are counted as polars counts them: at \n only (a lone \r is data to it).
    lines = pl.Series(text.split("\n"))
    widest = int(lines  # type: ignore[arg-type]
                 .str.count_matches(sep, literal=True).max() or 0)
    check_width(widest + 1, path)
    # polars reads bytes fastest; a UTF-8 file is handed over as it is
    body = data if used == "utf-8" and not cr_only else text.encode("utf-8")
    try:
        cells = pl.read_csv(
            (sep * widest + "\n").encode() + body, has_header=False, separator=sep,
            infer_schema=False, truncate_ragged_lines=True, comment_prefix=None,
        ).slice(1)
    except pl.exceptions.PolarsError as exc:
        raise SourceUnreadable(str(path), f"not a readable CSV: {str(exc).splitlines()[0]}") from None
    # columns only a quoted separator suggested, empty from top to bottom
    cells = cells.select([c for c in cells.columns if cells[c].null_count() < cells.height]
                         or cells.columns[:1])
    if is_our_export(text[:400]):  # (a rejects file, fixed, coming back)
        cells = unneutralise(cells)
    quoted = quoted_hash_values(lines) if '"#' in text else frozenset()
    return table_from_cells(cells, first_row=1, path=path, source="csv", encoding=used,
                            comments=True, sep=sep, quoted=quoted)
