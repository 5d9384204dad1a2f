"""Spreadsheets (fastexcel) and CSV (polars), read as text with a found header row."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import Path

import fastexcel
import polars as pl

from contracts.errors import NoRows, SourceUnreadable
from transforms.sources import RawTable

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
    widest = filled.max() or 0
    if widest == 0:
        return -1
    need = max(1, min(2, widest), int(widest * 0.6 + 0.5))
    return next(i for i, n in enumerate(filled) if n >= need)


def _unique_headers(raw: list[str | None]) -> list[str]:
    seen: dict[str, int] = {}
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


def table_from_cells(cells: pl.DataFrame, *, first_row: int, path: Path, source: str,
                     sheet: str | None = None, encoding: str | None = None) -> RawTable:
    """Header found, blank rows dropped, `source_row` added (first_row: row of cells[0])."""
    header_at = find_header(cells)
    if header_at < 0:
        raise NoRows(str(path), "the sheet is empty")
    headers = _unique_headers([cells[c][header_at] for c in cells.columns])
    body = (
        cells.slice(header_at + 1)
        .rename(dict(zip(cells.columns, headers, strict=True)))
        .with_columns(pl.all().str.strip_chars().replace("", None))
        .with_row_index("source_row", offset=first_row + header_at + 1)
        .with_columns(pl.col("source_row").cast(pl.Int64))
        .filter(pl.any_horizontal(pl.exclude("source_row").is_not_null()))
    )
    return RawTable(body, headers, source, sheet=sheet, encoding=encoding)


def read_excel(path: Path, *, sheet: str | None = None) -> RawTable:
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
    for idx in candidates:
        # every cell as text: leading zeros kept, nothing coerced to null (cast in contracts)
        loaded = reader.load_sheet(idx, header_row=None, dtypes="string")
        if sheet is None and (loaded.visible != "visible" or loaded.height == 0):
            continue
        cells = loaded.to_polars()
        if cells.width == 0 or cells.height == 0:
            continue
        first = _first_row_number_xlsx(path, idx) if path.suffix.lower() in (".xlsx", ".xlsm") else 1
        table = table_from_cells(cells, first_row=first, path=path, source="excel",
                                 sheet=names[idx])
        if table.frame.height or sheet is not None:
            return table
    raise NoRows(str(path), "no visible sheet has data rows")


def _decode(data: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SourceUnreadable(str(path), f"unknown encoding {encoding!r}",
                                   hint="use a Python codec name such as utf-8, cp1252, latin-1") from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise SourceUnreadable(str(path), f"not valid {encoding} at byte {exc.start}") from None
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc), enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceUnreadable(
            str(path), f"not UTF-8 (line {line}, byte {exc.start})",
            hint="say which encoding it is with --encoding (e.g. cp1252 for Windows Excel exports)",
        ) from None


def _delimiter(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(path: Path, *, encoding: str | None = None) -> RawTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceUnreadable(str(path), exc.strerror or str(exc)) from None
    if not data.strip():
        raise NoRows(str(path), "the file is empty")
    text, used = _decode(data, path, encoding)
    try:
        cells = pl.read_csv(
            io.StringIO(text), has_header=False, separator=_delimiter(text),
            infer_schema=False, truncate_ragged_lines=True, comment_prefix=None,
        )
    except pl.exceptions.PolarsError as exc:
        raise SourceUnreadable(str(path), f"not a readable CSV: {str(exc).splitlines()[0]}") from None
    return table_from_cells(cells, first_row=1, path=path, source="csv", encoding=used)
