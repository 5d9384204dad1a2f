"""Meaning on real files (issue 17): whose a row's values are, ordered match keys, values
kept, list items and org numbers — table tests, on both stores, and the property that a
second import of the same file changes nothing."""

from __future__ import annotations

import string
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.config import open_crm
from tests.conftest import run_import, seed, snapshot, table, table_hashes, write_csv, write_xlsx
from transforms.duplicates import crm_pairs

pytestmark = pytest.mark.both_stores

HEADER = ["Firma", "Fornavn", "Etternavn", "E-post", "Telefon", "Adresse", "Postnr", "Sted",
          "Notat", "Stilling"]


def _people(db) -> list[tuple]:
    return table(db, "SELECT p.first_name, p.last_name, c.name AS company, p.street, p.city "
                     "FROM person p LEFT JOIN company c USING (company_id) "
                     "ORDER BY p.person_id").rows()


def _values(db, kind: str) -> list[tuple]:
    column = {"email": "address", "phone": "number"}[kind]
    return table(db, f"""
        SELECT v.owner_kind, coalesce(c.name, p.first_name) AS owner, v.{column}
        FROM {kind} v LEFT JOIN company c ON v.owner_kind = 'company' AND c.company_id = v.owner_id
        LEFT JOIN person p ON v.owner_kind = 'person' AND p.person_id = v.owner_id
        ORDER BY 1, 2, 3""").rows()


# --- §1 a row with a company and no person is a company row ---------------------------------

def test_a_company_row_is_a_company_and_a_second_import_changes_nothing(tmp_path: Path, db):
    f = write_xlsx(tmp_path / "kunder.xlsx", HEADER, [
        ["Solheim Regnskap", None, None, "post@solheim.example", "22 33 44 55", "Storgata 1",
         150, "Oslo", None, None],
        ["Solheim Regnskap", "Kari", "Nordmann", "kari@solheim.example", "998 87 766", None,
         None, None, None, "Daglig leder"],
        ["Berg Bygg AS", None, None, None, None, None, None, None, "Ringes etter påske", None],
        ["Lie Lakk AS", None, None, None, None, None, None, None, None, "Styreleder"],
    ])
    first = run_import(f, db)
    assert first["status"] == "completed", first["errors"]
    assert (first["company"]["new"], first["person"]["new"]) == (3, 1)
    assert _people(db) == [("Kari", "Nordmann", "Solheim Regnskap", None, None)]
    assert _values(db, "email") == [("company", "Solheim Regnskap", "post@solheim.example"),
                                    ("person", "Kari", "kari@solheim.example")]
    assert table(db, "SELECT name, street, postcode, city, notes FROM company ORDER BY name"
                 ).rows() == [("Berg Bygg AS", None, None, None, "Ringes etter påske"),
                              ("Lie Lakk AS", None, None, None, None),
                              ("Solheim Regnskap", "Storgata 1", "0150", "Oslo", None)]
    # a position with no person to hold it is said, not lost silently, nor a person
    said = [w for w in first["warnings"] if w["code"] == "no_owner"]
    assert [(w["row"], w["column"]) for w in said] == [(5, "Stilling")]
    assert table(db, "SELECT value FROM list_item WHERE list_name = 'position'").rows() == [
        ("Daglig leder",)]
    before = table_hashes(db)
    again = run_import(f, db)
    assert again["status"] == "completed", again["errors"]
    for entity in ("company", "person"):
        assert again[entity]["new"] == again[entity]["updated"] == 0, entity
    assert table_hashes(db) == before


def test_a_private_person_keeps_the_generic_columns(tmp_path: Path, db):
    """`Adresse/Postnr/Sted` go to the company on company rows and to the person on rows
    without one — under every if_no_company (issue 17 §3)."""
    rows = [["Solheim Regnskap", "Kari", "Nordmann", "kari@solheim.example", None,
             "Storgata 1", "0150", "Oslo", None, None],
            [None, "Ola", "Privat", "ola@privat.example", "41 23 45 67", "Privatveien 2",
             "5003", "Bergen", None, None]]
    f = write_csv(tmp_path / "kunder.csv", HEADER, rows)
    done = run_import(f, db, {"person": {"if_no_company": "without_company"}})
    assert done["status"] == "completed" and done["rows"]["rejected"] == 0, done["errors"]
    assert _people(db) == [("Kari", "Nordmann", "Solheim Regnskap", None, None),
                           ("Ola", "Privat", None, "Privatveien 2", "Bergen")]
    assert table(db, "SELECT name, street FROM company").rows() == [
        ("Solheim Regnskap", "Storgata 1")]
    assert ("person", "Ola", "41 23 45 67") in _values(db, "phone")


def test_create_company_names_the_company_after_the_person_never_an_address(tmp_path, db):
    f = write_csv(tmp_path / "kunder.csv", HEADER, [
        [None, "Ola", "Privat", None, None, "Privatveien 2", "5003", "Bergen", None, None],
        [None, None, None, "anonym@example.com", None, None, None, None, None, None]])
    done = run_import(f, db)  # create_company, the default
    assert done["status"] == "completed", done["errors"]
    assert table(db, "SELECT name, street FROM company").rows() == [("Ola Privat", None)]
    assert _people(db) == [("Ola", "Privat", "Ola Privat", "Privatveien 2", "Bergen"),
                           (None, None, None, None, None)]
    said = [w for w in done["warnings"] if w["code"] == "no_company_made"]
    assert [(w["row"], w["column"]) for w in said] == [(3, "E-post")]


# --- §2 ordered match keys -------------------------------------------------------------------

def test_company_chain_orgnr_then_name(tmp_path: Path, db):
    seed(db, companies=[{"company_id": 1, "name": "Acme AS", "orgnr": "923609016"},
                        {"company_id": 2, "name": "Beta AS", "orgnr": None},
                        {"company_id": 3, "name": "Acme AS", "orgnr": None}])
    f = write_csv(tmp_path / "firma.csv", ["Firma", "Orgnr", "By"], [
        ["Acme AS", "923 609 016", "Oslo"],  # by org nr (the name finds two)
        ["Beta AS", None, "Bergen"],  # no org nr: by name
        ["Beta AS", "999 888 777", None],  # one with row 3 (first key both have: name)
        ["Gamma AS", "111", None]])  # found by neither: new
    done = run_import(f, db, {"company": {"match": ["orgnr", "name"]}})
    assert done["status"] == "completed", done["errors"]
    assert done["company"] == {"new": 1, "updated": 2, "unchanged": 0, "skipped": 0,
                               "ambiguous": 0}
    found = table(db, "SELECT source_row, match_key, key_value, crm_id FROM staging.candidates "
                      "WHERE run_id = ? AND entity = 'company' ORDER BY source_row",
                  [done["run_id"]]).rows()
    assert found == [(2, "orgnr", "923609016", 1), (3, "name", "beta as", 2),
                     (4, "name", "beta as", 2)]
    assert table(db, "SELECT company_id, orgnr, city FROM company ORDER BY company_id").rows()[:2] \
        == [(1, "923609016", "Oslo"), (2, "999 888 777", "Bergen")]
    # the same file again finds every record by its first key, and changes nothing
    before = table_hashes(db)
    again = run_import(f, db, {"company": {"match": ["orgnr", "name"]}})
    assert again["company"]["new"] == again["company"]["updated"] == 0
    assert table_hashes(db) == before


def test_a_chain_needs_one_of_its_key_columns(tmp_path: Path, db):
    f = write_csv(tmp_path / "firma.csv", ["Firma", "By"], [["Acme AS", "Oslo"]])
    ok = run_import(f, db, {"company": {"match": ["orgnr", "name"]}})
    assert ok["status"] == "completed", ok["errors"]
    nokey = run_import(f, db, {"company": {"match": ["orgnr", "vat"]}})
    assert nokey["status"] == "failed"
    assert "orgnr" in nokey["errors"][0] and "vat" in nokey["errors"][0], nokey["errors"]


def test_namesakes_born_on_different_days_are_two_persons_and_stay_two(tmp_path: Path, db):
    """A name alone made every Ola Nordmann of a file one person, the others' birth dates
    and addresses dropped as conflicts (FEBRL's 10,000 records: 766 pairs of different
    people). A birth date tells persons of one name apart, in the file and in the CRM."""
    f = write_csv(tmp_path / "medlemmer.csv",
                  ["Fornavn", "Etternavn", "Fødselsdato", "Adresse", "Postnr", "Sted"], [
                      ["Ola", "Nordmann", "1980-01-01", "Storgata 1", "0150", "Oslo"],
                      ["Ola", "Nordmann", "02.02.1990", "Fjordgata 9", "5003", "Bergen"],
                      ["Ola", "Nordmann", None, "Storgata 1", "0150", "Oslo"],
                      ["Kari", "Nordmann", "1975-05-05", None, None, None],
                      ["Kari", "Nordmann", None, "Elvegata 3", "7011", "Trondheim"]])
    first = run_import(f, db)
    assert first["status"] == "completed", first["errors"]
    # two Olas, and one who cannot say which of them he is; one Kari, with her address
    assert (first["person"]["new"], first["company"]["new"]) == (4, 2)
    assert table(db, "SELECT first_name, birth_date, street FROM person ORDER BY person_id"
                 ).rows() == [("Ola", date(1980, 1, 1), "Storgata 1"),
                              ("Ola", date(1990, 2, 2), "Fjordgata 9"),
                              ("Ola", None, "Storgata 1"),
                              ("Kari", date(1975, 5, 5), "Elvegata 3")]
    assert not [w for w in first["warnings"] if w["code"] == "conflict"]
    before = table_hashes(db)
    again = run_import(f, db)
    assert again["status"] == "completed", again["errors"]
    assert again["person"] == {**again["person"], "new": 0, "updated": 0, "ambiguous": 0}
    assert again["person"]["unchanged"] == 4
    assert table_hashes(db) == before
    # the company made for the Olas is named after them: no evidence that two are one
    with open_crm(str(db)) as store:
        pairs = crm_pairs(store, "person", min_score=0.9)
    assert pairs.select("a", "b").rows() == [(1, 3)]  # same address, one date not said


# --- §4 nothing worth keeping is dropped -------------------------------------------------------

def test_a_number_that_cannot_be_normalised_is_kept_as_given(tmp_path: Path, db):
    f = write_csv(tmp_path / "folk.csv", ["Firma", "Fornavn", "Etternavn", "Mobil", "Land"], [
        ["Acme Inc", "John", "Doe", "0311111111", "United States"],
        ["Acme Inc", "Jane", "Doe", "(650) 555-1212", "United States"],
        ["Acme Inc", "Jim", "Doe", "telefon mangler", "United States"]])
    done = run_import(f, db)
    assert done["status"] == "completed", done["errors"]
    got = table(db, "SELECT p.first_name, ph.number, ph.number_e164 FROM phone ph JOIN person p "
                    "ON ph.owner_kind = 'person' AND ph.owner_id = p.person_id ORDER BY 1").rows()
    assert got == [("Jane", "(650) 555-1212", "+16505551212"), ("John", "0311111111", None)]
    codes = {(w["row"], w["code"]) for w in done["warnings"]}
    assert (2, "phone_not_normalised") in codes and (4, "invalid_value") in codes


def test_a_short_postcode_gets_its_zeros_back_by_its_countrys_rule(tmp_path: Path, db):
    f = write_xlsx(tmp_path / "firma.xlsx", ["Firma", "Postnr", "Sted", "Land"], [
        ["Oslo AS", 150, "Oslo", None],  # no country: phone_region NO, 4 digits
        ["Malmö AB", 2110, "Malmö", "Sverige"],  # 5 digits in Sweden
        ["Lund AS", 1234, "Lund", None],  # whole already
        ["London Ltd", "SW1A 1AA", "London", "UK"],  # not digits
        ["Atlantis Inc", 150, "Poseidonia", "Atlantis"]])  # a country we do not know
    done = run_import(f, db)
    assert done["status"] == "completed", done["errors"]
    assert table(db, "SELECT name, postcode FROM company ORDER BY name").rows() == [
        ("Atlantis Inc", "150"), ("London Ltd", "SW1A 1AA"), ("Lund AS", "1234"),
        ("Malmö AB", "02110"), ("Oslo AS", "0150")]
    assert sorted(w["row"] for w in done["warnings"] if w["code"] == "postcode_padded") == [2, 3]


# --- §5 list values, org-number conflicts ----------------------------------------------------

def test_a_list_item_is_made_only_for_a_value_a_record_receives(tmp_path: Path, db):
    seed(db, companies=[{"company_id": 1, "name": "Acme AS"}],
         persons=[{"person_id": 1, "company_id": 1, "first_name": "Kari", "last_name": "Berg",
                   "position": "Daglig leder"}],
         list_items=[{"list_item_id": 1, "list_name": "position", "value": "Daglig leder",
                      "is_default": False}])
    f = write_csv(tmp_path / "folk.csv", ["Firma", "Fornavn", "Etternavn", "Stilling"], [
        ["Acme AS", "Kari", "Berg", "Styreleder"],  # merge keeps Daglig leder
        ["Acme AS", "Per", "Lie", "Selger"]])  # a new person: Selger is made
    done = run_import(f, db)
    assert done["status"] == "completed", done["errors"]
    assert table(db, "SELECT value FROM list_item ORDER BY value").rows() == [
        ("Daglig leder",), ("Selger",)]


def test_org_numbers_are_compared_as_numbers_and_a_conflict_names_both_rows(tmp_path, db):
    f = write_csv(tmp_path / "firma.csv", ["Firma", "Orgnr"], [
        ["Acme AS", "923 609 016"], ["Acme AS", "923609016"], ["Beta AS", "111 222 333"],
        ["Beta AS", "111222334"]])
    done = run_import(f, db)
    conflicts = [w for w in done["warnings"] if w["code"] == "conflict"]
    assert [(w["row"], w["column"]) for w in conflicts] == [(4, "Orgnr")]
    assert "rows 4, 5" in conflicts[0]["message"]
    value = table(db, "SELECT value FROM staging.warnings WHERE run_id = ? AND code = 'conflict'",
                  [done["run_id"]]).item()
    assert value == "row 4: 111 222 333 | row 5: 111222334"


# --- the property: the same messy sheet twice changes nothing ---------------------------------

_word = st.text(string.ascii_letters + "æøå ", min_size=1, max_size=6)
_cell = st.one_of(st.none(), st.just(""), st.just("  "))
_row = st.tuples(
    st.one_of(_cell, st.sampled_from(["Acme AS", "ACME  as", "Beta", " beta "]), _word),
    st.one_of(_cell, st.sampled_from(["Kari", "kari", "Per"]), _word),
    st.one_of(_cell, st.sampled_from(["Berg", "BERG"]), _word),
    st.one_of(_cell, st.sampled_from(["a@x.no", "A@X.NO", "b@x.no", "not an address"])),
    st.one_of(_cell, st.sampled_from(["412 34 567", "+47 41234567", "12", "ring meg"])),
    st.one_of(_cell, st.sampled_from(["Gate 1", "gate 1", "Vei 2"])),
    st.one_of(_cell, st.sampled_from(["0150", "150", "5003"])),
    st.one_of(_cell, st.sampled_from(["En notis", "Annen notis"])),
    st.one_of(_cell, st.sampled_from(["Selger", "selger", "Sjef"])),
)


@pytest.mark.duckdb_only  # (a property over many files: the store does not matter to it)
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_row, min_size=1, max_size=10),
       st.sampled_from([{}, {"company": {"match": ["orgnr", "name"]}},
                        {"person": {"match": ["email", "mobile", "name"]}},
                        {"person": {"if_no_company": "without_company"}}]))
def test_a_messy_sheet_imported_twice_changes_nothing_the_second_time(tmp_path_factory, rows,
                                                                      config):
    folder = tmp_path_factory.mktemp("messy")
    f = write_csv(folder / "messy.csv", ["Firma", "Fornavn", "Etternavn", "E-post", "Mobil",
                                         "Adresse", "Postnr", "Notat", "Stilling"],
                  [list(r) for r in rows])
    db = folder / "crm.duckdb"
    settings_ = {**config, "import": {"max_rejects": 1.0}}
    first = run_import(f, db, settings_)
    if first["status"] != "completed":  # nothing in it to import
        assert first["rows"]["read"] == first["rows"]["rejected"] or first["errors"]
        return
    before = snapshot(db)
    again = run_import(f, db, settings_)
    assert again["status"] == "completed", again["errors"]
    # a row with no key at all is created again, and said so (`no_match_key`); the rest is
    # found, and nothing changes
    nokey = {w["row"] for w in first["warnings"] if w["code"] == "no_match_key"}
    if not nokey:
        for entity in ("company", "person"):
            assert again[entity]["new"] == again[entity]["updated"] == 0, (entity, again)
        assert snapshot(db) == before
