"""What a file is by its first bytes, whatever its name says: an .xlsx renamed .csv is
refused as the workbook it is, not read as text in some encoding."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Content:
    what: str  # as a message says it: "an Excel workbook"
    suffixes: tuple[str, ...]  # the names such a file has; () for what we never import
    workbook: bool = False  # fastexcel reads it


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Office 97-2003 (and encrypted OOXML)
_MAGIC: tuple[tuple[bytes, Content], ...] = (
    (b"%PDF", Content("a PDF document", ())),
    (b"\x89PNG", Content("a PNG image", ())),
    (b"\xff\xd8\xff", Content("a JPEG image", ())),
    (b"GIF8", Content("a GIF image", ())),
    (b"\x1f\x8b", Content("a gzip archive", ())),
    (b"SQLite format 3\x00", Content("a SQLite database (an ERP? see `crm-import erp`)", ())),
    (b"DUCK", Content("a DuckDB database", ())),  # (at byte 8; checked below)
)
_ZIPPED = (  # a zip's tell-tale member, and what the zip then is
    ("xl/workbook.xml", Content("an Excel workbook", (".xlsx", ".xlsm"), workbook=True)),
    ("xl/workbook.bin", Content("an Excel binary workbook", (".xlsb",), workbook=True)),
    ("content.xml", Content("an OpenDocument spreadsheet", (".ods",), workbook=True)),
    ("word/document.xml", Content("a Word document", ())),
    ("ppt/presentation.xml", Content("a PowerPoint presentation", ())),
)


def content_of(path: Path) -> Content | None:
    """A binary format told by its signature; None for text (and what we cannot tell)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    if head.startswith(_OLE):
        return Content("an Excel 97-2003 workbook or another Office file", (".xls",),
                       workbook=True)
    if head[8:12] == b"DUCK":
        return Content("a DuckDB database", ())
    for magic, content in _MAGIC:
        if head.startswith(magic):
            return content
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError):
            return Content("a zip archive (damaged)", ())
        for member, content in _ZIPPED:
            if member in names:
                return content
        return Content("a zip archive", ())
    return None


def _text(path: Path) -> bool:
    """Plain text: some bytes, no NUL among the first 4 KB, and UTF-8 or 8-bit letters."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if not head or b"\x00" in head:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) or b >= 0xA0 for b in head)
    return printable >= 0.95 * len(head)


def misnamed(path: Path, workbook_reader: bool) -> tuple[str, str] | None:
    """Why a file cannot be what its name says, and what to do; or None. `workbook_reader`: its suffix is a
    spreadsheet's (a workbook format that is not its own suffix is still a workbook:
    fastexcel reads by content)."""
    content = content_of(path)
    if content is None:
        if workbook_reader and _text(path):
            return ("it is a text file, not a spreadsheet",
                    "if it is a CSV export, rename it to .csv")
        return None
    if workbook_reader and content.workbook:
        return None
    return (f"it is {content.what}, not a {path.suffix or 'plain'} file",
            f"rename it to {content.suffixes[0]}" if content.suffixes
            else "import a spreadsheet, CSV or contacts export")


MAX_UNPACKED_MB = 2048  # a part of a workbook, unpacked (a 1M-row sheet is a few hundred MB)
MAX_RATIO = 100  # unpacked : packed, for a part above 100 MB (a sheet packs ~10:1)


def check_unpacked(path: Path, limit_mb: int = MAX_UNPACKED_MB) -> None:
    """A zipped workbook whose parts would unpack beyond reason (a zip bomb: 4 MB that
    unpack to a 4 GB sheet) is refused from its zip directory, before anything is read."""
    from contracts.errors import SourceUnreadable

    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # (not a zip, or a damaged one: the reader says so)
    for part in parts:
        size_mb = part.file_size / 2**20
        ratio = part.file_size / max(part.compress_size, 1)
        if size_mb > limit_mb or (size_mb > 100 and ratio > MAX_RATIO):
            raise SourceUnreadable(
                str(path), f"its part {part.filename} would unpack to {size_mb:,.0f} MB "
                f"({ratio:,.0f} times its packed size): more than a workbook holds",
                hint=f"if it is a real workbook, raise the limit with "
                     f"CRM_IMPORT_MAX_UNPACKED_MB (now {limit_mb})")
