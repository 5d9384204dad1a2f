"""Rejects and warnings (SPEC §3): row, column, value, reason."""

from __future__ import annotations

import polars as pl

from contracts.settings import ImportSettings, parse_settings
from tests.conftest import run_import, table, write_csv
from transforms.validate import check_rows


def _rows(**cols):
    n = len(next(iter(cols.values())))
    return pl.DataFrame({"source_row": list(range(2, n + 2)), **cols})


def test_values_that_cannot_be_stored_reject_the_row():
    rows = _rows(company_name=["ACME", "Bad\x00Name", "X" * 201, "Ok"])
    c = check_rows(rows, settings=ImportSettings(), headers={"company_name": "Firma"})
    assert c.rows["source_row"].to_list() == [2, 5]
    rej = c.rejects.select("source_row", "column", "reason").rows()
    assert rej[0][:2] == (3, "Firma") and "NUL" in rej[0][2]
    assert rej[1][:2] == (4, "Firma") and "too long" in rej[1][2]
    assert c.rejects["value"][0] == "Bad\x00Name"  # the value as it came


def test_invalid_matched_on_value_rejects_optional_one_warns():
    rows = _rows(person_last_name=["A", "B"], person_email=["ok@x.no", "nope"],
                 person_mobile=["+47 900 00 000", "call me"])
    as_key = check_rows(rows, settings=parse_settings({"person": {"match": "email"}}), headers={})
    assert as_key.rejects.select("source_row", "field").rows() == [(3, "person_email")]
    assert as_key.rows.height == 1
    optional = check_rows(rows, settings=ImportSettings(), headers={"person_mobile": "Mobil"})
    assert optional.rejects.height == 0
    assert optional.rows["person_email"].to_list() == ["ok@x.no", None]
    assert optional.rows["person_mobile__key"].to_list() == ["+4790000000", None]
    assert set(optional.warnings.select("source_row", "column").rows()) == {(3, "person_email"),
                                                                            (3, "Mobil")}


def test_phone_numbers_use_the_region_setting():
    rows = _rows(person_last_name=["A"], person_mobile=["070-123 45 67"])
    se = check_rows(rows, settings=parse_settings({"import": {"phone_region": "SE"}}), headers={})
    assert se.rows["person_mobile__key"].to_list() == ["+46701234567"]


def test_dates_parse_or_warn():
    rows = _rows(person_last_name=["A", "B", "C"],
                 person_birth_date=["1990-02-01 00:00:00", "01.02.1990", "sometime"])
    c = check_rows(rows, settings=ImportSettings(), headers={})
    assert c.rows["person_birth_date"].to_list() == ["1990-02-01", "1990-02-01", None]
    assert c.warnings["source_row"].to_list() == [4]


def test_a_date_needs_a_four_digit_year():
    """(issue 22 #24: "1/2/3" was stored as 0003-02-01)"""
    rows = _rows(person_last_name=["A", "B", "C", "D"],
                 person_birth_date=["1/2/3", "01.02.0990", "31.12.1899", "01/02/2003"])
    c = check_rows(rows, settings=ImportSettings(), headers={})
    assert c.rows["person_birth_date"].to_list() == [None, None, "1899-12-31", "2003-02-01"]
    assert c.warnings["source_row"].to_list() == [2, 3]


def test_a_row_naming_nobody_is_rejected():
    rows = _rows(company_city=["Oslo"], person_last_name=[None])
    c = check_rows(rows, settings=ImportSettings(), headers={})
    assert c.rejects.select("source_row", "column").rows() == [(2, "(row)")]


def test_a_contact_with_only_an_email_is_a_person_without_a_name(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["First name", "Last name", "Email"], [["", "", "a@b.no"]])
    s = run_import(f, db, {"person": {"if_no_company": "without_company"}})
    assert s["person"]["new"] == 1 and s["rows"]["rejected"] == 0
    assert any(w["code"] == "no_match_key" for w in s["warnings"])


def test_rejects_are_staged_with_row_column_value_reason(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["Firma", "E-post", "Etternavn"],
                  [["ACME", "ola@acme.no", "N"], ["Beta", "bad-address", "H"]])
    s = run_import(f, db, {"person": {"match": "email"}})
    assert s["status"] == "completed" and s["rows"]["rejected"] == 1
    got = table(db, 'SELECT source_row, "column", value, reason FROM staging.rejects').rows()
    assert got[0][:3] == (3, "E-post", "bad-address")
    assert "not a valid email" in got[0][3]
    assert table(db, "SELECT count(*) FROM company").item() == 1  # Beta's row was not applied


def test_a_phone_with_digits_is_kept_as_given_and_only_text_is_dropped():
    """SPEC §3: no country known, or not a complete number: kept, number_e164 empty, a
    warning; "telefon mangler" holds no number: dropped."""
    rows = _rows(person_last_name=["A", "B", "C"],
                 person_mobile=["(650) 555-1212", "9986", "telefon mangler"])
    c = check_rows(rows, settings=ImportSettings(), headers={"person_mobile": "Mobil"})
    assert c.rows["person_mobile"].to_list() == ["(650) 555-1212", "9986", None]
    assert c.rows["person_mobile__e164"].to_list() == [None, None, None]
    assert c.rows["person_mobile__key"].to_list() == ["6505551212", "9986", None]
    assert c.warnings.select("source_row", "code").rows() == [
        (2, "phone_not_normalised"), (3, "phone_not_normalised"), (4, "invalid_value")]


def test_a_phone_is_read_in_its_records_country():
    rows = _rows(person_last_name=["A"], person_country=["USA"], person_mobile=["(650) 555-1212"])
    c = check_rows(rows, settings=ImportSettings(), headers={})
    assert c.rows["person_mobile__e164"].to_list() == ["+16505551212"]
    assert c.warnings.height == 0


def test_a_mobile_key_needs_digits_only():
    rows = _rows(person_last_name=["A", "B"], person_mobile=["9986", "no number"])
    c = check_rows(rows, settings=parse_settings({"person": {"match": "mobile"}}), headers={})
    assert c.rejects.select("source_row", "field").rows() == [(3, "person_mobile")]
    assert c.rows["person_mobile__key"].to_list() == ["9986"]


def test_a_date_with_a_time_reads_as_its_date():
    rows = _rows(person_last_name=["A"], person_birth_date=["1996-04-15T201243+04:00"])
    c = check_rows(rows, settings=ImportSettings(), headers={})
    assert c.rows["person_birth_date"].to_list() == ["1996-04-15"]


def test_a_kept_phone_imports_once_and_matches_by_its_digits(tmp_path, db):
    """Imported twice with merge, a phone without E.164 is one phone; a person is found by
    such a mobile (its digits) when mobile is the match key."""
    f = write_csv(tmp_path / "in.csv", ["First name", "Last name", "Mobile"],
                  [["Ann", "Berg", "99 86"]])
    settings = {"person": {"match": "mobile", "if_no_company": "without_company"}}
    first = run_import(f, db, settings)
    assert first["person"]["new"] == 1
    assert table(db, "SELECT kind, number, number_e164 FROM phone").rows() == [
        ("mobile", "99 86", None)]
    again = run_import(f, db, settings)
    assert (again["person"]["new"], again["person"]["unchanged"]) == (0, 1)
    assert table(db, "SELECT count(*) FROM phone").item() == 1
