"""Products into price lists (SPEC §3 [product], §5 "Products"); templates."""

from __future__ import annotations

from decimal import Decimal

import fastexcel
import polars as pl
import pytest

from contracts.settings import parse_settings
from flows.config import open_crm
from flows.pipeline import ImportRequest, import_file
from tests.conftest import FIXTURES, table, table_hashes, write_csv
from transforms.template import write_template
from transforms.undo import undo_run

pytestmark = pytest.mark.both_stores

NORTHWIND = FIXTURES / "erp" / "northwind_neo4j_products.csv"


def products(file, db, settings=None, **kw):
    return import_file(ImportRequest(file=str(file), db=str(db), kind="products",
                                     settings=parse_settings(settings or {}), **kw))


def test_northwind_products_into_a_new_price_list(tmp_path, db):
    s = products(NORTHWIND, db, price_list="Northwind")
    assert s["status"] == "completed", s["errors"]
    assert s["rows"] == {"read": 77, "rejected": 0}
    assert s["product"]["new"] == 77
    assert table(db, "SELECT name, currency FROM price_list").rows() == [("Northwind", "NOK")]
    chai = table(db, "SELECT code, name, unit, list_price, in_assortment FROM product WHERE code = '1'").row(0)
    assert chai == ("1", "Chai", "10 boxes x 20 bags", Decimal("18.0000"), True)
    again = products(NORTHWIND, db, price_list="Northwind")
    assert (again["product"]["new"], again["product"]["updated"], again["product"]["unchanged"]) == (0, 0, 77)
    # a price changed in the file: replace updates exactly that product, skip nothing
    changed = pl.read_csv(NORTHWIND, infer_schema=False).with_columns(
        pl.when(pl.col("productID") == "2").then(pl.lit("19.50")).otherwise(pl.col("unitPrice"))
        .alias("unitPrice"))
    changed.write_csv(tmp_path / "changed.csv")
    skipped = products(tmp_path / "changed.csv", db, {"product": {"action": "skip"}}, price_list="Northwind")
    assert skipped["product"]["updated"] == 0 and skipped["product"]["skipped"] == 77
    replaced = products(tmp_path / "changed.csv", db, {"product": {"action": "replace"}},
                        price_list="Northwind")
    assert replaced["product"]["updated"] == 1 and replaced["product"]["unchanged"] == 76
    assert table(db, "SELECT list_price FROM product WHERE code = '2'").item() == Decimal("19.5000")
    log = table(db, "SELECT field, old_value, new_value FROM change_log WHERE run_id = ? AND op = 'update'",
                [replaced["run_id"]]).rows()
    assert log == [("list_price", "19.0000", "19.5000")]


def test_odoo_template_with_a_mapping_file(tmp_path, db):
    mapping = tmp_path / "odoo.toml"
    mapping.write_text('[columns]\n"External ID" = "product_code"\n"Internal Reference" = ""\n',
                       encoding="utf-8")
    s = products(FIXTURES / "excel" / "odoo14_product_template_import_template.xls", db,
                 mapping_file=str(mapping))
    assert s["status"] == "completed", s["errors"]
    assert s["product"]["new"] == 25 and s["rows"]["rejected"] == 0
    got = dict(table(db, "SELECT code, list_price FROM product").rows())
    assert got["product_template_1"] == Decimal("79.0000")
    assert got["product_template_21"] == Decimal("4.5000")
    cost = table(db, "SELECT cost FROM product WHERE code = 'product_template_1'").item()
    assert cost == Decimal("7044.0000")


def test_projectopen_pricelist_needs_a_mapping_that_builds_code_and_name(tmp_path, db):
    f = FIXTURES / "excel" / "projectopen_trans_pricelist_sample_semicolon.csv"
    refused = products(f, db)
    assert refused["status"] == "failed"
    assert "products need columns for code, name" in refused["errors"][0]
    mapping = tmp_path / "po.toml"
    mapping.write_text('[columns]\n"price" = "product_list_price"\n"uom" = "product_unit"\n'
                       '[build]\nproduct_code = "{uom} {currency} {task_type} {target_language}"\n'
                       'product_name = "{uom} {task_type} {target_language} ({currency})"\n',
                       encoding="utf-8")
    s = products(f, db, mapping_file=str(mapping), price_list="Translation")
    assert s["status"] == "completed", s["errors"]
    assert s["rows"]["rejected"] == 0 and s["product"]["new"] == s["rows"]["read"]
    assert s["rows"]["read"] == 66 and s["warnings"] == []
    prices = dict(table(db, "SELECT code, list_price FROM product").rows())
    assert prices["S-Word EUR"] == Decimal("0.1500")  # decimal comma, exact
    assert prices["S-Line GBP"] == Decimal("2.5000")
    assert prices["S-Line EUR Trans + Edit jp"] == Decimal("2.4000")
    assert table(db, "SELECT name FROM product WHERE code = 'Day USD'").item() == "Day (USD)"
    # row numbers are the file's own lines (comment and blank lines counted)
    assert table(db, "SELECT min(source_row) FROM staging.plan").item() == 10


@pytest.mark.parametrize(("cell", "value"), [
    ("1 234,50", "1234.5000"), ("1.234,50", "1234.5000"), ("1,234.50", "1234.5000"),
    ("kr 99,-", "99.0000"), ("NOK 1234", "1234.0000"), ("€ 5", "5.0000"), ("0,1", "0.1000"),
])
def test_price_formats_are_exact(tmp_path, db, cell, value):
    f = write_csv(tmp_path / "p.csv", ["Code", "Name", "Price"], [["A1", "Widget", cell]])
    assert products(f, db)["status"] == "completed"
    assert table(db, "SELECT CAST(list_price AS VARCHAR) FROM product").item() == value


def test_required_fields_and_bad_prices_are_rejects(tmp_path, db):
    f = write_csv(tmp_path / "p.csv", ["Code", "Name", "Price", "VAT", "In assortment"], [
        ["A1", "Ok", "10", "25 %", "ja"], ["", "No code", "10", "", ""], ["A3", "", "10", "", ""],
        ["A4", "No price", "", "", ""], ["A5", "Negative", "-5", "", ""], ["A6", "Text", "ten", "", ""],
        ["A7", "Bad flag", "7", "lots", "maybe"]])
    s = products(f, db, {"import": {"max_rejects": 0.9}})
    assert s["status"] == "completed" and s["rows"]["rejected"] == 5 and s["product"]["new"] == 2
    reasons = dict(table(db, "SELECT source_row, reason FROM staging.rejects ORDER BY 1").rows())
    assert reasons == {3: "code is required", 4: "name is required", 5: "list price is required",
                       6: "a price must be ≥ 0", 7: "not a price (a number with at most 4 decimals)"}
    assert {w["column"] for w in s["warnings"]} == {"VAT", "In assortment"}
    rows = table(db, "SELECT code, vat_rate, in_assortment FROM product ORDER BY code").rows()
    assert rows == [("A1", Decimal("25.0000"), True), ("A7", None, False)]


def test_in_assortment_spellings(tmp_path, db):
    values = ["yes", "no", "ja", "nei", "true", "false", "1", "0", "x", ""]
    f = write_csv(tmp_path / "p.csv", ["Code", "Name", "Price", "Active"],
                  [[f"C{i}", f"P{i}", "1", v] for i, v in enumerate(values)])
    products(f, db)
    got = [v for (v,) in table(db, "SELECT in_assortment FROM product ORDER BY product_id").rows()]
    assert got == [True, False, True, False, True, False, True, False, True, False]


def test_same_code_in_two_price_lists_is_two_products(tmp_path, db):
    f = write_csv(tmp_path / "p.csv", ["Code", "Name", "Price"], [["A1", "Widget", "10"]])
    products(f, db, price_list="Retail")
    s = products(f, db, price_list="Wholesale")
    assert s["product"]["new"] == 1
    assert table(db, "SELECT count(*) FROM product").item() == 2
    assert table(db, "SELECT count(*) FROM price_list").item() == 2


@pytest.mark.parametrize(("match", "rows", "new"), [
    ("code", [["A1", "Other name", "10"]], 0),
    ("name", [["B9", "widget", "10"]], 0),
    ("name+code", [["A1", "Widget", "10"]], 0),
    ("name+code", [["A1", "Other", "10"]], 1),
    ("name+code", [["B9", "Widget", "10"]], 1),
])
def test_product_match_keys(tmp_path, db, match, rows, new):
    base = write_csv(tmp_path / "base.csv", ["Code", "Name", "Price"], [["A1", "Widget", "10"]])
    products(base, db)
    f = write_csv(tmp_path / "p.csv", ["Code", "Name", "Price"], rows)
    s = products(f, db, {"product": {"match": match}})
    assert s["product"]["new"] == new


@pytest.mark.parametrize(("policy", "stored"), [("add", "Tools"), ("blank", None)])
def test_new_category_values(tmp_path, db, policy, stored):
    f = write_csv(tmp_path / "p.csv", ["Code", "Name", "Price", "Category"], [["A1", "W", "1", "Tools"]])
    products(f, db, {"product": {"new_category": policy}})
    assert table(db, "SELECT category FROM product").item() == stored


def test_merge_fills_only_empty_fields(tmp_path, db):
    f = write_csv(tmp_path / "a.csv", ["Code", "Name", "Price"], [["A1", "Widget", "10"]])
    products(f, db)
    g = write_csv(tmp_path / "b.csv", ["Code", "Name", "Price", "Unit"], [["A1", "Widget v2", "12", "pcs"]])
    s = products(g, db)
    assert s["product"]["updated"] == 1
    assert table(db, "SELECT name, list_price, unit FROM product").row(0) == ("Widget", Decimal("10.0000"), "pcs")


def test_preview_and_undo_of_a_product_run(tmp_path, db):
    before = table_hashes(db)
    preview = products(NORTHWIND, db, dry_run=True)
    assert preview["status"] == "preview" and preview["product"]["new"] == 77
    assert table_hashes(db) == before
    s = products(NORTHWIND, db, price_list="Fresh")
    with open_crm(str(db)) as store:
        result = undo_run(store, s["run_id"])
    assert result.status == "undone" and result.deleted["product"] == 77
    assert table_hashes(db) == before


def test_template_round_trip(tmp_path, db):
    with open_crm(str(db)) as store:
        store.execute("INSERT INTO list_item VALUES (1, 'product_category', 'Beverages', TRUE)")
        columns = write_template(store, "products", tmp_path / "t.xlsx")
    assert columns[:3] == ["In assortment", "Code", "Name"]
    untouched = products(tmp_path / "t.xlsx", db)
    assert untouched["status"] == "failed" and "no rows" in untouched["errors"][0]
    # notes, drop-downs, frozen header are in the file
    import zipfile

    z = zipfile.ZipFile(tmp_path / "t.xlsx")
    sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "dataValidation" in sheet and 'state="frozen"' in sheet
    assert any(n.startswith("xl/comments") for n in z.namelist())
    assert "Beverages" in z.read("xl/sharedStrings.xml").decode()
    # a person fills three rows (with polars) and imports it with no mapping file
    header = fastexcel.read_excel(str(tmp_path / "t.xlsx")).load_sheet(0, dtypes="string").to_polars().columns
    filled = pl.DataFrame([["yes", "C1", "Coffee", "", "Beverages", "", "", "kg", "129,90", "", "80", "15"],
                           ["no", "C2", "Tea", "Green", "beverages", "", "", "box", "49", "45", "", "15"],
                           ["", "C3", "Cocoa", "", "", "", "", "", "1 050,00", "", "", ""]],
                          schema=header, orient="row")
    filled.write_excel(tmp_path / "filled.xlsx")
    s = products(tmp_path / "filled.xlsx", db)
    assert s["status"] == "completed" and s["product"]["new"] == 3 and s["mapping"]["unmapped"] == []
    rows = table(db, "SELECT code, category, list_price, in_assortment FROM product ORDER BY code").rows()
    assert rows == [("C1", "Beverages", Decimal("129.9000"), True), ("C2", "Beverages", Decimal("49.0000"), False),
                    ("C3", None, Decimal("1050.0000"), False)]


def test_contacts_template_maps_every_header(tmp_path, db):
    from transforms.mapping import auto_map

    with open_crm(str(db)) as store:
        columns = write_template(store, "contacts", tmp_path / "c.xlsx")
    mapping = auto_map(columns)
    assert mapping.unmapped == [] and len(mapping.columns) == len(columns)


def test_a_vat_rate_outside_0_to_100_is_dropped_with_a_warning(tmp_path, db):
    """(issue 22 #22, #24: -25 was stored; 123456 overflowed DECIMAL(9,4) after validation)"""
    f = write_csv(tmp_path / "p.csv", ["Code", "Name", "Price", "VAT"], [
        ["A1", "Ok", "10", "25"], ["A2", "Minus", "10", "-25"], ["A3", "Huge", "10", "123456"],
        ["A4", "Half", "10", "12,5 %"]])
    s = products(f, db)
    assert s["status"] == "completed" and s["product"]["new"] == 4
    assert sorted(w["row"] for w in s["warnings"]) == [3, 4]
    assert {w["message"] for w in s["warnings"]} == {"not a VAT rate (0-100 %); value dropped"}
    rows = table(db, "SELECT code, vat_rate FROM product ORDER BY code").rows()
    assert rows == [("A1", Decimal("25.0000")), ("A2", None), ("A3", None),
                    ("A4", Decimal("12.5000"))]


def test_templates_write_list_values_as_text_never_formulas(tmp_path, db):
    """(issue 22 #14: a CRM list value `=HYPERLINK(…)` came out as a live formula)"""
    import zipfile

    with open_crm(str(db)) as store:
        store.execute("INSERT INTO list_item VALUES (1, 'category', "
                      "'=HYPERLINK(\"http://evil.example/t\",\"x\")', FALSE), "
                      "(2, 'category', '@SUM(1+1)', FALSE), (3, 'category', '+1', FALSE)")
        write_template(store, "contacts", tmp_path / "c.xlsx")
    z = zipfile.ZipFile(tmp_path / "c.xlsx")
    sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheets
    strings = z.read("xl/sharedStrings.xml").decode()
    assert "=HYPERLINK(" in strings and "@SUM(1+1)" in strings and ">+1<" in strings
