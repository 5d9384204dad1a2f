"""Spreadsheet and CSV reading: text cells, found headers, Excel row numbers."""

from __future__ import annotations

import datetime

import polars as pl
import pytest
import xlsxwriter

from contracts.errors import NoRows, SourceUnreadable
from tests.conftest import FIXTURES, write_csv, write_xlsx
from transforms.sources import read_source


def test_title_row_and_blank_rows_above_the_header(tmp_path):
    f = write_xlsx(tmp_path / "t.xlsx", ["Company", "Postcode"], [["ACME", "0150"], ["Beta", "0001"]],
                   title="Customers 2026")
    t = read_source(f)
    assert t.headers == ["Company", "Postcode"]
    # title on row 1, blank row 2, header row 3: data starts on Excel row 4
    assert t.frame["source_row"].to_list() == [4, 5]
    assert t.frame["Postcode"].to_list() == ["0150", "0001"]


def test_sheet_starting_below_row_one_keeps_excel_row_numbers(tmp_path):
    f = write_xlsx(tmp_path / "t.xlsx", ["Company"], [["ACME"]], start_row=5)
    assert read_source(f).frame["source_row"].to_list() == [7]


def test_cells_are_text_and_nothing_becomes_null(tmp_path):
    wb = xlsxwriter.Workbook(tmp_path / "t.xlsx")
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["Company", "Number", "Postcode", "Born", "Flag"])
    ws.write_row(1, 0, ["ACME", "00123"])
    ws.write_number(1, 2, 150)  # a number cell: read as its text
    ws.write_datetime(1, 3, datetime.datetime(1990, 2, 1), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_boolean(1, 4, True)
    ws.write_row(2, 0, ["Beta", "text", "0150", "01.02.1990", "no"])  # mixed types per column
    wb.close()
    t = read_source(tmp_path / "t.xlsx")
    assert t.frame.schema == pl.Schema({"source_row": pl.Int64, **dict.fromkeys(t.headers, pl.String)})
    rows = t.frame.drop("source_row").rows()
    assert rows[0][:3] == ("ACME", "00123", "150")
    assert rows[0][3].startswith("1990-02-01") and rows[0][4] == "true"
    assert rows[1] == ("Beta", "text", "0150", "01.02.1990", "no")


def test_first_visible_sheet_with_data_unless_named(tmp_path):
    wb = xlsxwriter.Workbook(tmp_path / "t.xlsx")
    hidden = wb.add_worksheet("Hidden")
    hidden.write_row(0, 0, ["Company"])
    hidden.write_row(1, 0, ["Secret AS"])
    hidden.hide()
    wb.add_worksheet("Empty")
    data = wb.add_worksheet("Kunder")
    data.activate()  # xlsxwriter cannot hide the active sheet
    data.write_row(0, 0, ["Company"])
    data.write_row(1, 0, ["Visible AS"])
    wb.close()
    t = read_source(tmp_path / "t.xlsx")
    assert (t.sheet, t.frame["Company"].to_list()) == ("Kunder", ["Visible AS"])
    assert read_source(tmp_path / "t.xlsx", sheet="Hidden").frame["Company"].to_list() == ["Secret AS"]
    with pytest.raises(SourceUnreadable, match="no sheet named .Nope.*Hidden, Empty, Kunder"):
        read_source(tmp_path / "t.xlsx", sheet="Nope")


def test_duplicate_and_empty_headers_are_made_unique(tmp_path):
    f = write_csv(tmp_path / "t.csv", ["Name", "Name", "", "City"], [["a", "b", "c", "d"]])
    assert read_source(f).headers == ["Name", "Name (2)", "column 3", "City"]


def test_csv_semicolon_bom_and_blank_lines(tmp_path):
    f = tmp_path / "t.csv"
    f.write_bytes("\ufeffFirma;Postnr\n\nACME;0150\n;\nBeta;0001\n".encode())
    t = read_source(f)
    assert t.headers == ["Firma", "Postnr"]
    assert t.frame.rows() == [(3, "ACME", "0150"), (5, "Beta", "0001")]


def test_csv_8bit_is_decoded_by_evidence_or_refused(tmp_path):
    f = tmp_path / "t.csv"
    f.write_bytes("Firma,Sted\nBlåbær AS,Tromsø\n".encode("cp1252"))
    t = read_source(f)
    assert (t.encoding, t.frame["Firma"].to_list()) == ("cp1252", ["Blåbær AS"])
    f.write_bytes(b"Firma,Sted\n\x8d\x8f\xa4,\x90\xa7\n")  # no encoding makes words of it
    with pytest.raises(SourceUnreadable, match="not UTF-8 .*line 2.*--encoding"):
        read_source(f)
    assert read_source(f, encoding="latin-1").frame.height == 1


def test_bad_files(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(NoRows):
        read_source(tmp_path / "empty.csv")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SourceUnreadable, match="broken.xlsx"):
        read_source(tmp_path / "broken.xlsx")
    with pytest.raises(SourceUnreadable, match="no such file"):
        read_source(tmp_path / "missing.xlsx")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    with pytest.raises(SourceUnreadable, match="unknown file type"):
        read_source(tmp_path / "notes.pdf")


def test_real_odoo_partner_template_xls():
    t = read_source(FIXTURES / "excel" / "odoo14_res_partner_import_template.xls")
    assert t.headers[:3] == ["Name", "Is a company", "Related company"]
    assert t.frame.height == 8
    assert t.frame["ZIP"].to_list()[0] == "95101"


def test_real_odoo_contacts_csv():
    t = read_source(FIXTURES / "excel" / "odoo14_base_import_o2m_customers_contacts.csv")
    assert t.frame.height > 0 and t.frame["source_row"][0] == 2


def test_csv_comment_lines_are_notes_and_row_numbers_stay_the_files(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("# exported 2026-11-28\nCompany;City\n# section A\nACME;Oslo\n\nBeta;Bergen\n",
                 encoding="utf-8")
    t = read_source(f)
    assert t.headers == ["Company", "City"]
    assert t.frame.rows() == [(4, "ACME", "Oslo"), (6, "Beta", "Bergen")]


def test_csv_title_line_above_the_header(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("Customer list 2026\n\nCompany,City,Postcode\nACME,Oslo,0150\n", encoding="utf-8")
    t = read_source(f)
    assert t.headers == ["Company", "City", "Postcode"]
    assert t.frame.rows() == [(4, "ACME", "Oslo", "0150")]


def test_the_rejects_export_neutralises_headers_and_keeps_the_files_own_row_column_reason(
        tmp_path):
    """(issue 22 #15: a header `=HYPERLINK(…)` came out live in CSV; #22: a rejects file
    with its own row/column/reason columns, rejected again, crashed the export)"""
    import json

    import polars as pl

    from transforms.export import rejects_frame, write_table

    record = {"=HYPERLINK(\"http://x\")": "=1+1", "row": "5", "column": "E-post",
              "reason": "old reason", "Name": "Ola"}
    frame = rejects_frame(pl.DataFrame({"source_row": [7], "record": [json.dumps(record)]}),
                          pl.DataFrame({"source_row": [7], "column": ["Name"],
                                        "reason": ["too long"]}))
    assert frame.columns == [*record, "row (rejected)", "column (rejected)", "reason (rejected)"]
    write_table(frame, tmp_path / "r.csv")
    import csv  # (polars leaves "" doubled in a header it reads)

    with (tmp_path / "r.csv").open(encoding="utf-8", newline="") as fh:
        note, header, row = list(csv.reader(fh))
    assert note[0].startswith("# crm-import export:")
    assert header[0] == "'=HYPERLINK(\"http://x\")" and row[0] == "'=1+1"
    assert row[1:] == ["5", "E-post", "old reason", "Ola", "7", "Name", "too long"]


def test_the_xlsx_export_says_which_cells_excel_cut(tmp_path, caplog):
    """(issue 22 #11: cells over 32,767 characters were cut silently)"""
    import fastexcel
    import polars as pl

    from transforms.export import EXCEL_CELL, write_table

    frame = pl.DataFrame({"Name": ["Ola", "Kari"], "Notes": ["x" * 40_000, "short"]})
    write_table(frame, tmp_path / "r.xlsx")
    back = fastexcel.read_excel(str(tmp_path / "r.xlsx")).load_sheet(0, dtypes="string").to_polars()
    assert back.columns == ["Name", "Notes", "note"]
    assert len(back["Notes"][0]) == EXCEL_CELL and back["Notes"][1] == "short"
    assert back["note"].to_list() == ["cut at 32,767 characters (Excel's limit): Notes", None]
    assert "1 cells longer than Excel's 32767 characters were cut" in caplog.text
    write_table(frame, tmp_path / "r.csv")  # whole in a CSV
    assert len(pl.read_csv(tmp_path / "r.csv", skip_rows=1)["Notes"][0]) == 40_000


def test_an_old_mac_csv_with_cr_line_ends_is_read(tmp_path):
    """(issue 22 #2: it was "a header but no rows")"""
    f = tmp_path / "mac.csv"
    f.write_bytes(b"Company,First name\rMac A AS,Ann\rMac B AS,Bob\r")
    t = read_source(f)
    assert t.headers == ["Company", "First name"]
    assert t.frame.rows() == [(2, "Mac A AS", "Ann"), (3, "Mac B AS", "Bob")]


def test_a_cards_repeated_properties_all_reach_the_record_as_it_came(tmp_path):
    """(issue 22 #7: the second EMAIL and TEL were missing from staging.raw_rows and the
    rejects export, so a rejected card exported and re-imported lost them)"""
    f = tmp_path / "two.vcf"
    f.write_bytes(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ola N\r\nN:N;Ola;;;\r\nEMAIL:a@x.no\r\n"
                  b"EMAIL:b@x.no\r\nTEL:+47 900 00 001\r\nTEL:+47 900 00 002\r\nEND:VCARD\r\n")
    t = read_source(f)
    assert t.headers == ["VERSION", "FN", "N", "EMAIL", "EMAIL (2)", "TEL", "TEL (2)"]
    assert t.frame.row(0)[4:] == ("a@x.no", "b@x.no", "+47 900 00 001", "+47 900 00 002")
