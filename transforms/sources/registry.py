"""The readers, one list: which files each takes (by suffix), how it reads them, and what
follows from that (`--source` choices, detection, folder filters, chunking, help texts).

Adding a format = an entry here and its module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.errors import SourceUnreadable
from transforms.sources.sniff import MAX_UNPACKED_MB, check_unpacked, misnamed

if TYPE_CHECKING:
    from transforms.sources.table import RawTable


@dataclass(frozen=True)
class ReadOptions:
    source: str = "auto"  # --source
    sheet: str | None = None
    encoding: str | None = None
    max_unpacked_mb: int = MAX_UNPACKED_MB  # a zipped workbook's parts (sniff.check_unpacked)


def _read_table(path: Path, opts: ReadOptions, kind: str) -> RawTable:
    """A sheet or a CSV; an address-book export among them is told by its headers."""
    from transforms.sources.contacts import detect_csv_export
    from transforms.sources.spreadsheet import read_csv, read_excel

    if kind == "excel":
        check_unpacked(path, opts.max_unpacked_mb)
    table = (read_excel(path, sheet=opts.sheet) if kind == "excel"
             else read_csv(path, encoding=opts.encoding))
    export = opts.source if opts.source in ADDRESS_BOOKS else (
        detect_csv_export(table.headers) if opts.source == "auto" else None)
    if export:
        return replace(table, source=export, format=f"{export}-{table.source}")
    return table


def _read_vcard(path: Path, opts: ReadOptions) -> RawTable:
    from transforms.sources.vcard import read_vcard

    return read_vcard(path, encoding=opts.encoding)


def _read_json(path: Path, opts: ReadOptions) -> RawTable:
    """A .json file: Google People API connections, or jCard."""
    from transforms.sources.people import is_people_json, read_people
    from transforms.sources.vcard import read_vcard

    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceUnreadable(str(path), f"not readable JSON: {exc}") from None
    except RecursionError:
        raise SourceUnreadable(str(path), "not readable JSON: nested too deeply to be a "
                               "contacts export") from None
    if opts.source == "google" or is_people_json(data):
        return read_people(path, data)
    return read_vcard(path)


@dataclass(frozen=True)
class Reader:
    name: str  # as --source names it (json: chosen by its suffix only)
    suffixes: tuple[str, ...]
    read: Callable[[Path, ReadOptions], RawTable]
    what: str  # for help texts and errors
    # every file it reads is an address-book export (a record per contact); otherwise an
    # export is told by its header signature after reading (Outlook, Google CSV)
    address_book: bool = False
    # a large contacts file of this reader is imported in chunks (flows.chunked)
    chunked: bool = False
    choosable: bool = True  # offered as --source


READERS: tuple[Reader, ...] = (
    Reader("excel", (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"),
           lambda p, o: _read_table(p, o, "excel"), "spreadsheet", chunked=True),
    Reader("csv", (".csv", ".txt", ".tsv"), lambda p, o: _read_table(p, o, "csv"),
           "CSV or text export", chunked=True),
    Reader("vcard", (".vcf", ".vcard", ".xml"), _read_vcard, "vCard / xCard",
           address_book=True),
    Reader("json", (".json",), _read_json, "People API or jCard JSON", address_book=True,
           choosable=False),
)
# address books whose CSV/sheet exports are told by their headers (or named with --source)
ADDRESS_BOOKS = ("outlook", "google", "thunderbird")
SOURCES: tuple[str, ...] = (  # --source: readers of tables, the address books, the others
    "auto", *(r.name for r in READERS if r.choosable and not r.address_book), *ADDRESS_BOOKS,
    *(r.name for r in READERS if r.choosable and r.address_book))
IMPORTABLE: frozenset[str] = frozenset(s for r in READERS for s in r.suffixes)
_BY_NAME = {r.name: r for r in READERS}
_BY_SUFFIX = {s: r for r in READERS for s in r.suffixes}


@dataclass(frozen=True)
class LiveSource:
    """A service read through its API (`crm-import run google:NAME`, flows/live): its
    records become the table a file of the same contacts would give."""
    name: str  # google | microsoft
    read: Callable[[list[dict], str], RawTable]  # (records, "google:NAME") → the table
    what: str


def _read_people(records: list[dict], name: str) -> RawTable:
    from transforms.sources.people import people_table

    return people_table(records, name)


def _read_graph(records: list[dict], name: str) -> RawTable:
    from transforms.sources.graph import graph_table

    return graph_table(records, name)


LIVE_SOURCES: tuple[LiveSource, ...] = (
    LiveSource("google", _read_people, "Google Contacts (People API)"),
    LiveSource("microsoft", _read_graph, "Outlook / Microsoft 365 contacts (Graph)"),
)
_LIVE = {s.name: s for s in LIVE_SOURCES}


def read_records(source: str, records: list[dict], name: str) -> RawTable:
    """A live source's pulled records → its table, with each record as the service sent
    it (staging.raw_rows)."""
    import polars as pl

    table = _LIVE[source].read(records, name)
    kept = pl.DataFrame({"source_row": pl.int_range(1, len(records) + 1, eager=True),
                         "record": [json.dumps(r, ensure_ascii=False) for r in records]},
                        schema={"source_row": pl.Int64, "record": pl.String})
    return replace(table, records=kept)


def reader_of(path: Path, requested: str = "auto") -> Reader:
    """The reader for a file, from --source and the extension. Which address book wrote a
    CSV or spreadsheet (Outlook, Google) is told by its header signature after reading."""
    suffix = path.suffix.lower()
    if requested in _BY_NAME:
        return _BY_NAME[requested]
    found = _BY_SUFFIX.get(suffix)
    if requested in ADDRESS_BOOKS and (found is None or not found.address_book):
        return _BY_NAME["excel"] if found is _BY_NAME["excel"] else _BY_NAME["csv"]
    if found is None:
        raise SourceUnreadable(
            str(path), f"unknown file type {suffix or '(none)'!r}",
            hint="give " + ", ".join(f"{r.what} ({'/'.join(r.suffixes)})" for r in READERS)
            + ", or say which with --source")
    return found


def detect_source(path: Path, requested: str = "auto") -> str:
    """The reader's name for a file: excel | csv | vcard | json."""
    return reader_of(path, requested).name


def read_source(path: str | Path, *, source: str = "auto", sheet: str | None = None,
                encoding: str | None = None,
                max_unpacked_mb: int = MAX_UNPACKED_MB) -> RawTable:
    """Read any import file; `source` is --source (auto: by extension and header signature)."""
    p = Path(path)
    if p.is_dir():
        raise SourceUnreadable(str(p), "is a folder, not a file", hint="give the path of one file")
    if not p.is_file():
        raise SourceUnreadable(str(p), "not a regular file (a pipe, device or socket)"
                               if p.exists() else "no such file", hint="check the path")
    if source not in SOURCES:
        raise SourceUnreadable(str(p), f"unknown --source {source!r}",
                               hint="one of: " + ", ".join(SOURCES))
    reader = reader_of(p, source)
    wrong = misnamed(p, workbook_reader=reader.name == "excel")
    if wrong:
        raise SourceUnreadable(str(p), *wrong)
    return reader.read(p, ReadOptions(source, sheet, encoding, max_unpacked_mb))
