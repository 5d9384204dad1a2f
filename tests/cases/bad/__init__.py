"""The bad-input corpus: files a real user might hand us, made fresh by `build(folder)`.

Each case says how it must end: "error" (one clear line, non-zero exit, nothing applied) or
"rows" (the run completes; the faulty rows are rejected or the values dropped with warnings).
The files are generated, not committed: some are large (a 50 MB cell, 10,000 columns).
"""

from __future__ import annotations

import io
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter


@dataclass(frozen=True)
class Case:
    name: str
    file: str  # file name in the corpus folder ("" for a path that does not exist)
    expect: str  # "error" | "rows"
    message: str  # a piece of the error (or of a reject reason) the user must see
    args: tuple[str, ...] = ()  # "{corpus}" stands for the corpus folder
    settings: str = ""  # settings TOML text
    rejected: int | None = None  # with "rows": rows.rejected
    extra: dict = field(default_factory=dict)


HEADER = "Company,First name,Last name,Email,Mobile\n"
GOOD_ROW = "ACME AS,Ola,Nordmann,ola@acme.no,900 11 222\n"


def _write_xlsx(path: Path, rows: list[list], *, formulas: dict | None = None,
                hidden: bool = False) -> None:
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Data")
    if hidden:
        other = wb.add_worksheet("Cover")
        other.activate()
        ws.hide()
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(i, j, v)
    for (r, c), (formula, value) in (formulas or {}).items():
        ws.write_formula(r, c, formula, None, value)
    wb.close()


def build(folder: Path | None) -> list[Case]:
    """The cases; with a folder, their files too (None: only the list, for test ids)."""
    write = folder is not None
    folder = folder or Path(".")
    if write:
        folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(42)

    def w(name: str, data: bytes) -> None:
        if write:
            (folder / name).write_bytes(data)

    def t(name: str, text: str, enc: str = "utf-8") -> None:
        w(name, text.encode(enc))

    def _xlsx(path: Path, rows: list[list], **kw) -> None:
        if write:
            _write_xlsx(path, rows, **kw)

    cases: list[Case] = []

    def add(*a, **kw):
        cases.append(Case(*a, **kw))

    # --- unreadable or empty files ----------------------------------------------------------
    w("zero.csv", b"")
    add("zero bytes csv", "zero.csv", "error", "no data rows")
    w("zero.xlsx", b"")
    add("zero bytes xlsx", "zero.xlsx", "error", "no data rows")
    w("zero.vcf", b"")
    add("zero bytes vcf", "zero.vcf", "error", "the file is empty")
    w("garbage.xlsx", bytes(rnd.getrandbits(8) for _ in range(4096)))
    add("binary garbage as xlsx", "garbage.xlsx", "error", "cannot read the file")
    w("garbage.csv", bytes(rnd.getrandbits(8) for _ in range(4096)))
    add("binary garbage as csv", "garbage.csv", "error", "cannot read the file")
    w("garbage.vcf", bytes(rnd.getrandbits(8) for _ in range(4096)))
    add("binary garbage as vcf", "garbage.vcf", "error", "not a vCard file")
    _xlsx(folder / "whole.xlsx", [["Company"], ["ACME"]])
    data = (folder / "whole.xlsx").read_bytes() if write else b""
    w("truncated.xlsx", data[: len(data) // 2])
    add("truncated xlsx (zip cut short)", "truncated.xlsx", "error", "cannot read the file")
    if write:
        w("encrypted.xlsx", _encrypted(data))
    add("password-protected xlsx", "encrypted.xlsx", "error", "password-protected")
    w("pdf.xlsx", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
    add("a PDF named .xlsx", "pdf.xlsx", "error", "cannot read the file")
    w("zip_as.csv", data)
    add("an xlsx named .csv", "zip_as.csv", "error", "it is an Excel workbook")
    t("csv_as.xlsx", HEADER + GOOD_ROW)
    add("a csv named .xlsx", "csv_as.xlsx", "error", "cannot read the file")
    w("notes.pdf", b"%PDF-1.4")
    add("unknown extension", "notes.pdf", "error", "unknown file type")
    add("a path that does not exist", "", "error", "no such file")
    if write:
        (folder / "a_folder").mkdir(exist_ok=True)
    add("a folder without importable files as FILE", "a_folder", "error",
        "no importable files in this folder")

    # --- contact exports --------------------------------------------------------------------
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Nordmann;Ola;;;\r\nEMAIL:ola@acme.no\r\nEND:VCARD\r\n"
    t("truncated.vcf", card + card.split("EMAIL")[0])
    add("a vCard file cut short inside a card", "truncated.vcf", "error", "has no END:VCARD")
    t("no_cards.vcf", "VERSION:3.0\r\nN:Nordmann;Ola;;;\r\n")
    add("a .vcf without BEGIN:VCARD", "no_cards.vcf", "error", "not a vCard file")
    t("empty_card.vcf", card + "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:nothing else\r\nEND:VCARD\r\n")
    add("a card with nothing to import", "empty_card.vcf", "rows", "nothing to import", rejected=1)
    t("broken.json", '{"connections": [{"names": [')
    add("a JSON export cut short", "broken.json", "error", "not readable JSON")
    t("no_people.json", '{"connections": [], "totalPeople": 0}')
    add("a People API response without connections", "no_people.json", "error", "no connections")
    t("outlook_header_only.csv", '"First Name","Last Name","E-mail Address","Mobile Phone"\r\n')
    add("an Outlook CSV with only its header", "outlook_header_only.csv", "error", "no data rows")

    # --- no data ----------------------------------------------------------------------------
    t("only_header.csv", HEADER)
    add("only a header (csv)", "only_header.csv", "error", "no data rows")
    _xlsx(folder / "only_header.xlsx", [["Company", "First name"]])
    add("only a header (xlsx)", "only_header.xlsx", "error", "no data rows")
    _xlsx(folder / "title_only.xlsx", [["Customers 2026"]])
    add("a title and nothing else", "title_only.xlsx", "error", "no data rows")
    _xlsx(folder / "hidden_only.xlsx", [["Company"], ["Secret AS"]], hidden=True)
    add("data only on a hidden sheet", "hidden_only.xlsx", "error", "no visible sheet")
    t("blank_lines.csv", "\n\n\n")
    add("only blank lines", "blank_lines.csv", "error", "no data rows")

    # --- shapes -----------------------------------------------------------------------------
    t("wide.csv", ",".join(f"col{i}" for i in range(10_000)) + "\n"
      + ",".join(str(i) for i in range(10_000)) + "\n")
    # (issue 22 #21: a 4 MB workbook whose sheet unpacks to 4 GB took 4.3 GB)
    if write:
        _zip_bomb(folder / "bomb.xlsx")
    add("a workbook whose sheet unpacks 1,000-fold", "bomb.xlsx", "error",
        "would unpack to 300 MB")
    # (issue 22 #4: a header naming 3 of 6 filled columns lost the first data row as header)
    _xlsx(folder / "short_header.xlsx", [["Company", "First name", "Last name"],
                                         ["ACME AS", "Ola", "Nordmann", "x", "y", "z"],
                                         ["Beta AS", "Kari", "Hansen", "x", "y", "z"]])
    add("a header naming fewer columns than its rows fill", "short_header.xlsx", "rows", "",
        rejected=0, extra={"read": 2})
    # (in a CSV such rows are rejected as ragged, each said: none vanishes as the header)
    t("short_header.csv", "Company,First name,Last name\nACME AS,Ola,Nordmann,x,y,z\n"
      "Beta AS,Kari,Hansen,x,y,z\n")
    add("a CSV header naming fewer columns than its rows fill", "short_header.csv", "rows",
        "more fields than the header", rejected=2, settings="[import]\nmax_rejects = 1.0\n",
        extra={"read": 2})
    # (issue 22 #18: an error quoted the first line of /etc/shadow into import_run)
    t("shadow.csv", "root:$6$Zq0s3cr3tHash$Wq1vJ8r0n9dummyhashvalue0123456789abcdef:19000:0:99999:7:::\n"
      "daemon:*:19000:0:99999:7:::\n")
    add("a file that is no table, named .csv", "shadow.csv", "error", "not headers of a table",
        extra={"never_said": "s3cr3t"})
    # (issue 22 #2: a lone CR dropped Cid silently and cut Bob's row)
    t("lone_cr.csv", "Company,First name,Last name,Notes\r\nEol A AS,Ann,Alpha,note a\r\n"
      "Eol B AS,Bob,Beta,note b\rEol C AS,Cid,Gamma,note c\r\nEol D AS,Dan,Delta,note d\r\n")
    add("a lone CR inside a CSV line", "lone_cr.csv", "rows", "more fields than the header",
        rejected=1)
    # (issue 22 #20: a million-column header took 14 GB; wider than 5,000 is refused unparsed)
    add("10,000 columns", "wide.csv", "error", "10,000 columns, more than the 5,000")
    # (issue 22 #20: memory grew with the square of a record's values: 3.5 GB for 300)
    t("many_emails.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ola Nordmann\r\nN:Nordmann;Ola;;;\r\n"
      + "".join(f"EMAIL:ola{i}@acme.no\r\n" for i in range(1000)) + "END:VCARD\r\n")
    add("a card with 1,000 EMAIL lines", "many_emails.vcf", "rows", "", rejected=0,
        extra={"warning": "950 values of person_email left out: a record keeps its first 50"})
    t("many_email_columns.csv", "Company,First name,Last name,"
      + ",".join(f"Email {i + 1}" for i in range(300)) + "\nACME AS,Ola,Nordmann,"
      + ",".join(f"ola{i}@acme.no" for i in range(300)) + "\n")
    add("300 e-mail columns", "many_email_columns.csv", "rows", "", rejected=0,
        extra={"warning": "250 values of person_email left out: a record keeps its first 50"})
    t("unmapped.csv", "Foo,Bar\n1,2\n")
    add("no column maps", "unmapped.csv", "error", "no column maps to a CRM field")
    if write:
        with open(folder / "big_cell.csv", "w", encoding="utf-8") as fh:
            fh.write("Company,Notes\n")
            fh.write("ACME AS," + "x" * (50 * 1024 * 1024) + "\n")
    add("a 50 MB single cell", "big_cell.csv", "error", "max_rejects")
    t("duplicate_headers.csv", "Company,Company,Last name\nACME,Other,Nordmann\n")
    add("duplicate headers", "duplicate_headers.csv", "rows", "", rejected=0)
    t("ragged.csv", HEADER + "ACME AS,Ola,Nordmann,ola@acme.no,900 11 222,extra,more\nBeta AS,Kari\n")
    # a row longer than the header cannot be taken apart (which comma is data?): rejected;
    # a shorter one is only missing its last cells
    add("ragged rows", "ragged.csv", "rows", "more fields than the header", rejected=1)
    t("unclosed_quote.csv", 'Company,Last name\n"ACME,Nordmann\n')
    add("an unclosed quote", "unclosed_quote.csv", "error", "not a readable CSV")
    t("long_header.csv", "Company," + "H" * 10_000 + "\nACME,x\n")
    add("a 10,000-character header", "long_header.csv", "rows", "", rejected=0)

    # --- encodings --------------------------------------------------------------------------
    t("cp1252.csv", "Firma;Sted\nBlåbær AS;Tromsø\n", "cp1252")
    add("cp1252 without --encoding (found by evidence)", "cp1252.csv", "rows", "", rejected=0)
    w("undecidable.csv", b"Firma;Sted\n\x8d\x8f\xa4;\x90\xa7\n")
    add("8-bit text no encoding fits", "undecidable.csv", "error", "--encoding")
    add("cp1252 with --encoding cp1252", "cp1252.csv", "rows", "", args=("--encoding", "cp1252"),
        rejected=0)
    add("an unknown --encoding", "cp1252.csv", "error", "unknown encoding", args=("--encoding", "klingon"))
    t("utf16_nobom.csv", "Company,Last name\nACME,Nordmann\n", "utf-16-le")
    add("UTF-16 without BOM (found by its zero bytes)", "utf16_nobom.csv", "rows", "", rejected=0)

    # --- values -----------------------------------------------------------------------------
    _xlsx(folder / "formulas.xlsx", [["Company", "Last name", "Email"], ["ACME", "N", "a@acme.no"],
                                     ["Beta", None, "b@beta.no"], ["Gamma", "G", None]],
          formulas={(2, 1): ("=1/0", "#DIV/0!"), (3, 2): ("=NA()", "#N/A")})
    add("formula errors (#DIV/0!, #N/A)", "formulas.xlsx", "rows", "formula error", rejected=2,
        settings="[import]\nmax_rejects = 0.9\n")
    t("injection.csv", HEADER + "'); DROP TABLE company;--,Robert,Tables,bobby@x.no,\n"
      + "=cmd|' /C calc'!A0,Eve,Formula,eve@x.no,\n")
    add("SQL-looking and formula-looking values", "injection.csv", "rows", "", rejected=0)
    t("nul.csv", HEADER + "ACME\x00AS,Ola,N,ola@acme.no,\n" + GOOD_ROW)
    add("a NUL character", "nul.csv", "rows", "NUL", rejected=1)
    t("control.csv", HEADER + "\u202eSA EMCA,Ola\u200f,N,ola@acme.no,\n")
    add("RTL marks and control characters", "control.csv", "rows", "", rejected=0)
    t("too_long.csv", "Company,Last name\n" + "A" * 201 + ",N\nOk AS,M\n")
    add("a value over the column's limit", "too_long.csv", "rows", "too long", rejected=1)
    t("nameless.csv", "Company,City\n,Oslo\n,Bergen\nACME,Oslo\n")
    add("rows naming nobody, above max_rejects", "nameless.csv", "error", "max_rejects")
    t("bad_emails.csv", HEADER + "A,Ola,N,bad-address,\nB,Kari,H,k@b.no,\nC,Per,B,p@c.no,\n")
    add("a bad matched-on email", "bad_emails.csv", "rows", "not a valid email", rejected=1,
        settings='[person]\nmatch = "email"\n')
    t("bad_phone.csv", HEADER + "A,Ola,N,ola@a.no,call me maybe\n")
    add("a phone cell holding text", "bad_phone.csv", "rows", "", rejected=0)
    t("dates.csv", "Company,Last name,Birthday\nA,N,yesterday\n")
    add("a date that is no date", "dates.csv", "rows", "", rejected=0)
    t("all_rejected.csv", HEADER + "A,Ola,N,bad,\nB,Kari,H,worse,\n")
    add("a file above max_rejects", "all_rejected.csv", "error", "max_rejects",
        settings='[person]\nmatch = "email"\n')

    # --- settings, mapping and options ------------------------------------------------------
    t("good.csv", HEADER + GOOD_ROW)
    add("a match key column absent", "good.csv", "error", "company.match = 'vat'",
        settings='[company]\nmatch = "vat"\n')
    add("a settings file with an unknown key", "good.csv", "error", "unknown key",
        settings="[company]\nmatchh = 'name'\n")
    add("a settings file with an unknown value", "good.csv", "error", "add, merge, replace, skip",
        settings="[company]\naction = 'upsert'\n")
    add("a settings file that is not TOML", "good.csv", "error", "not valid TOML",
        settings="[company\n")
    t("mapping_bad.toml", '[columns]\n"Company" = "compnay_name"\n')
    add("a mapping naming an unknown field", "good.csv", "error", "unknown field",
        args=("--mapping", "{corpus}/mapping_bad.toml"))
    add("--exclude-rows that is no list", "good.csv", "error", "not a list of rows",
        args=("--exclude-rows", "three"))
    add("a sheet that does not exist", "whole.xlsx", "error", "no sheet named", args=("--sheet", "Nope"))
    # (issue 22 #1: DuckDB opened a CSV as a view and the import "completed" into nothing)
    add("--db naming a CSV file", "good.csv", "error", "is not a DuckDB database",
        args=("--db", "{corpus}/good.csv"))
    # (issue 22 #8: the second column was quietly unmapped and different people merged)
    t("mapping_twice.toml", '[columns]\n"Company" = "company_name"\n'
                            '"First name" = "company_name"\n')
    add("a mapping sending two columns to one single-valued field", "good.csv", "error",
        "columns 'Company' and 'First name' both map to 'company_name'",
        args=("--mapping", "{corpus}/mapping_twice.toml"))
    t("mapping_build_twice.toml", '[columns]\n"Company" = "company_name"\n'
                                  '[build]\ncompany_name = "{Company} AS"\n')
    add("a [build] field a column maps to as well", "good.csv", "error",
        "[build] 'company_name': column 'Company' maps to that field too",
        args=("--mapping", "{corpus}/mapping_build_twice.toml"))
    # (issue 22 #24: a column the mapping names and the file lacks was ignored unsaid)
    t("mapping_absent.toml", '[columns]\n"Company" = "company_name"\n"Kundenr" = "company_number"\n')
    add("a mapping naming a column the file lacks", "good.csv", "rows", "", rejected=0,
        args=("--mapping", "{corpus}/mapping_absent.toml"),
        extra={"warning": "the mapping file names columns this file lacks: Kundenr"})
    # (issue 22 #24)
    add("max_rejects = true", "good.csv", "error", "true is not a number",
        settings="[import]\nmax_rejects = true\n")
    add("a legal basis holding a NUL", "good.csv", "error", "holds a control character",
        settings='[privacy]\nlegal_basis = "consent\\u0000"\n')
    add("a 100,000-character consent comment", "good.csv", "error",
        "is 100000 characters long; at most 2000",
        settings=f'[privacy]\ncomment = "{"x" * 100_000}"\n')
    # (issue 22 #22: each of these ended in a traceback)
    t("deep.json", "[" * 10_000 + "]" * 10_000)
    add("JSON nested 10,000 deep", "deep.json", "error", "nested too deeply")
    t("people_shape.json", '{"connections": [{"names": "Ola", "emailAddresses": [{"value": 5}]}]}')
    add("a People API field of the wrong type", "people_shape.json", "error",
        "entry 1: a field is not shaped as the People API writes it")
    t("source_row_header.csv", "source_row,Company,First name,Last name\n7,ACME AS,Ola,Hansen\n")
    add("a header named source_row", "source_row_header.csv", "rows", "", rejected=0)
    w("settings_latin1.toml", '[company]\nmatch = "n\u00e6me"\n'.encode("latin-1"))
    add("a settings file that is not UTF-8", "good.csv", "error", "not UTF-8 text",
        args=("--settings", "{corpus}/settings_latin1.toml"))
    add("a mapping file that is not UTF-8", "good.csv", "error", "not UTF-8 text",
        args=("--mapping", "{corpus}/settings_latin1.toml"))
    add("--exclude-rows beyond any file", "good.csv", "error", "beyond any file",
        args=("--exclude-rows", "2-99999999999999999999"))
    add("--exclude-rows leaving out millions", "good.csv", "error", "leaves out more than",
        args=("--exclude-rows", "1-3000000"))
    if write:
        os.mkfifo(folder / "fifo.csv")
    add("a FIFO named as the file", "fifo.csv", "error", "not a regular file")
    return cases


def _zip_bomb(path: Path) -> None:
    """A real workbook whose sheet XML is padded with 300 MB of blanks (packs to ~0.3 MB)."""
    import zipfile

    good = io.BytesIO()
    _write_xlsx(good, [["Company", "First name"], ["ACME AS", "Ola"]])  # type: ignore[arg-type]
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"</sheetData>" + b" " * (300 << 20))
            out.writestr(info.filename, data)


def _encrypted(xlsx: bytes) -> bytes:
    """The workbook encrypted with a password, as Excel does (an OLE container)."""
    import msoffcrypto.format.ooxml as ooxml

    out = io.BytesIO()
    ooxml.OOXMLFile(io.BytesIO(xlsx)).encrypt("secret", out)
    return out.getvalue()
