"""Spreadsheet and CSV exports that a person can open safely.

A cell that starts with =, +, -, @, tab or CR would be taken for a formula by Excel or
LibreOffice (CSV injection): in .xlsx every cell is written as a string cell, in .csv such a
value gets a leading apostrophe, the convention both programs show as text.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from contracts.errors import CrmImportError

if TYPE_CHECKING:  # (imported where a workbook is written: 0.18 s that every import paid)
    import xlsxwriter

RISKY = r"^[=+\-@\t\r]"
log = logging.getLogger("crm_import")


class ExportFailed(CrmImportError):
    def __init__(self, path: str, reason: str):
        self.hint = "write to a .xlsx or .csv path in a folder you can write to"
        super().__init__(f"{path}: cannot write the export: {reason}")


def text_workbook(path: str | Path) -> xlsxwriter.Workbook:
    """A workbook that writes every string as a string cell: never a formula, number or
    link (a CRM list value `=HYPERLINK(…)` stays text) — for every export and template."""
    import xlsxwriter

    return xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_numbers": False,
                                      "strings_to_urls": False})


# the first line of every CSV export: a comment to our reader (and a note to a person), and
# the sign that the apostrophes below were ours to take off when the file comes back
CSV_MARK = ("# crm-import export: a value or header starting with = + - @ got a leading ' so "
            "that no spreadsheet runs it as a formula; importing this file takes it off")
ADDED = r"^'[=+\-@\t\r]"  # a value as neutralise left it


def is_our_export(first_text: str) -> bool:
    return first_text.lstrip("\ufeff").startswith(CSV_MARK[:40])


def unneutralise(cells: pl.DataFrame) -> pl.DataFrame:
    """A CSV export of ours, read back: the apostrophes `neutralise` added come off (only
    in such a file: elsewhere a leading apostrophe is the value)."""
    return cells.with_columns(
        pl.when(pl.col(c).str.contains(ADDED)).then(pl.col(c).str.slice(1)).otherwise(pl.col(c))
        for c in cells.columns if cells.schema[c] == pl.String)


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """For CSV: values — and headers — that would start a formula get a leading apostrophe."""
    risky = re.compile(RISKY)
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(RISKY)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c))
        .alias(c) for c in frame.columns if frame.schema[c] == pl.String
    ).rename(lambda c: "'" + c if risky.match(c) else c)


def write_table(frame: pl.DataFrame, path: str | Path, *, sheet: str = "data") -> Path:
    """Write .xlsx (string cells, header frozen) or .csv (neutralised), by the suffix."""
    import xlsxwriter.exceptions

    p = Path(path)
    text = frame.select([pl.col(c).cast(pl.String) for c in frame.columns])
    try:
        if p.suffix.lower() == ".csv":
            with p.open("w", encoding="utf-8", newline="") as fh:
                fh.write(CSV_MARK + "\n")
                neutralise(text).write_csv(fh)
            return p
        if p.suffix.lower() not in (".xlsx", ".xlsm"):
            raise ExportFailed(str(p), f"unknown export type {p.suffix!r}")
        text = _note_cut_cells(text, p)
        wb = text_workbook(p)
        ws = wb.add_worksheet(sheet)
        bold = wb.add_format({"bold": True})
        ws.write_row(0, 0, text.columns, bold)
        for j, col in enumerate(text.columns):
            # one call per column; every value a string cell, never a formula
            values = text[col].to_list()
            ws.write_column(1, j, [v if v is not None else "" for v in values])
        ws.freeze_panes(1, 0)
        wb.close()
    except (OSError, xlsxwriter.exceptions.FileCreateError) as exc:  # (the latter: on close)
        raise ExportFailed(str(p), getattr(exc, "strerror", None) or str(exc)) from None
    return p


EXCEL_CELL = 32_767  # characters an Excel cell holds; xlsxwriter cuts the rest


def _note_cut_cells(text: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Cells Excel cannot hold whole are cut there: a `note` column says which, per row, and
    a warning says how many (a .csv export keeps them whole)."""
    long = [c for c in text.columns if (text[c].str.len_chars() > EXCEL_CELL).any()]
    if not long:
        return text
    cut = text.select(pl.sum_horizontal((pl.col(c).str.len_chars() > EXCEL_CELL)
                                        .fill_null(False) for c in long)).to_series().sum()
    log.warning("%s: %d cells longer than Excel's %d characters were cut (the note column "
                "says where); export to .csv to keep them whole", path, cut, EXCEL_CELL)
    note = pl.concat_str([pl.when(pl.col(c).str.len_chars() > EXCEL_CELL).then(pl.lit(c))
                          for c in long], separator=", ", ignore_nulls=True)
    # cut here: xlsxwriter's write_column stops at the first cell it has to cut
    return text.with_columns(pl.col(long).str.slice(0, EXCEL_CELL), pl.when(note != "").then(
        pl.lit(f"cut at {EXCEL_CELL:,} characters (Excel's limit): ") + note).alias(
        next(n for n in ("note", "note (export)", "note (crm-import)") if n not in text.columns)))


def rejects_frame(raw: pl.DataFrame, rejects: pl.DataFrame) -> pl.DataFrame:
    """The rejected rows as they came in (the file's own columns) + row, column, reason.

    raw: source_row, record (JSON of the row keyed by the file's headers);
    rejects: source_row, column, reason.
    """
    if raw.height == 0:
        return pl.DataFrame(schema={"row": pl.Int64, "column": pl.String, "reason": pl.String})
    per_row = rejects.group_by("source_row", maintain_order=True).agg(
        pl.col("column").unique(maintain_order=True).str.join("; ").alias("column"),
        pl.col("reason").unique(maintain_order=True).str.join("; ").alias("reason"))
    rows = raw.join(per_row, on="source_row", how="inner").sort("source_row")
    # every record has the file's headers as keys, in order (see transforms.staging)
    headers = list(json.loads(rows["record"][0]))
    shape = pl.Struct(dict.fromkeys(headers, pl.String))
    decoded = rows.select(pl.col("record").str.json_decode(shape)).unnest("record")
    # a file with row/column/reason columns of its own (an exported rejects file, rejected
    # again) keeps them; ours get a mark
    ours = {c: next(n for n in (c, f"{c} (rejected)", f"{c} (crm-import)") if n not in headers)
            for c in ("row", "column", "reason")}
    return pl.concat([decoded, rows.select(pl.col("source_row").alias(ours["row"]),
                                           pl.col("column").alias(ours["column"]),
                                           pl.col("reason").alias(ours["reason"]))],
                     how="horizontal")
