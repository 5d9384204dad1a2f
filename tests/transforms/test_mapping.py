"""Header → field mapping, mapping files and the full-name split."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from contracts.errors import MappingInvalid
from contracts.fields import ALIASES, FIELDS, GENERIC_ALIASES, header_key
from transforms.mapping import apply_mapping, auto_map, load_mapping_file, split_full_name


@pytest.mark.parametrize(("header", "field"), [
    ("Company", "company_name"), ("Firma", "company_name"), ("Företagsnamn", "company_name"),
    ("Virksomhed", "company_name"), ("Unternehmen", "company_name"), ("Company: Name", "company_name"),
    ("Org.nr.", "company_orgnr"), ("Organisasjonsnummer", "company_orgnr"), ("CVR-nr", "company_orgnr"),
    ("MVA-nummer", "company_vat_number"), ("USt-IdNr.", "company_vat_number"),
    ("First Name", "person_first_name"), ("Fornavn", "person_first_name"),
    ("Förnamn", "person_first_name"), ("Vorname", "person_first_name"),
    ("Etternavn", "person_last_name"), ("Efternamn", "person_last_name"), ("Nachname", "person_last_name"),
    ("E-mail Address", "person_email"), ("Mobiltelefon", "person_mobile"), ("Handy", "person_mobile"),
    ("Stilling", "person_position"), ("Job Title", "person_position"),
    ("Fødselsdato", "person_birth_date"), ("Geburtstag", "person_birth_date"),
    ("Business Street", "company_street"), ("Home City", "person_city"),
    ("Hjemmeside", "company_url"), ("Interesser", "person_interest"),
])
def test_aliases(header, field):
    assert auto_map([header, "Fornavn"] if field != "person_first_name" else [header]).columns[header] == field


def test_aliases_do_not_clash():
    keys = [header_key(a) for f in FIELDS for a in (f.name, *f.aliases)]
    clashes = {k for k in keys if keys.count(k) > 1 and len({ALIASES[k]}) > 0}
    owners = {k: {f.name for f in FIELDS for a in (f.name, *f.aliases) if header_key(a) == k}
              for k in clashes}
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}
    assert not set(GENERIC_ALIASES) & set(ALIASES)


def test_generic_headers_follow_the_file():
    persons = auto_map(["Name", "Phone", "City"])
    assert persons.columns == {"Name": "person_full_name", "Phone": "person_phone",
                               "City": "person_city"}
    companies = auto_map(["Company", "Phone", "City"])
    assert companies.columns["Phone"] == "company_phone"
    both = auto_map(["Company", "First name", "Phone", "City", "Fax"])
    assert (both.columns["Phone"], both.columns["City"], both.columns["Fax"]) == (
        "person_phone", "company_city", "company_fax")


def test_multi_valued_fields_number_up_and_single_fields_are_claimed_once():
    m = auto_map(["Last name", "E-mail", "E-mail 2", "E-mail 3 Address", "Company", "Firma", "Notes?"])
    assert m.columns["E-mail"] == "person_email"
    assert m.columns["E-mail 2"] == "person_email_2"
    assert m.columns["E-mail 3 Address"] == "person_email_3"
    assert "Firma" in m.unmapped and "Notes?" not in m.unmapped


def test_mapping_file_overrides_and_ignores(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('[columns]\n"Kundenavn" = "company_name"\n"Company" = ""\n', encoding="utf-8")
    m = auto_map(["Kundenavn", "Company", "Internal"], load_mapping_file(f))
    assert m.columns == {"Kundenavn": "company_name"}
    assert m.ignored == ["Company"] and m.unmapped == ["Internal"]


def test_mapping_file_errors(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('[columns]\n"X" = "company_nmae"\n', encoding="utf-8")
    with pytest.raises(MappingInvalid, match="unknown field 'company_nmae'"):
        load_mapping_file(f)
    f.write_text('columns = 3', encoding="utf-8")
    with pytest.raises(MappingInvalid, match="expected a \\[columns\\] table"):
        load_mapping_file(f)


def test_full_name_split():
    frame = pl.DataFrame({"source_row": [1, 2, 3, 4, 5],
                          "person_full_name": ["Ola Nordmann", "Kari  Anne Hansen",
                                               "Nordmann, Ola Jonas", "Cher", None]})
    got = split_full_name(frame.lazy()).collect()
    expected = pl.DataFrame({
        "source_row": [1, 2, 3, 4, 5],
        "person_first_name": ["Ola", "Kari", "Ola", "Cher", None],
        "person_middle_name": [None, "Anne", "Jonas", None, None],
        "person_last_name": ["Nordmann", "Hansen", "Nordmann", None, None],
    })
    assert_frame_equal(got, expected)


def test_full_name_does_not_override_given_parts():
    raw = pl.DataFrame({"source_row": [1], "Name": ["Ola Nordmann"], "Last name": ["Hansen"]})
    got = apply_mapping(raw.lazy(), auto_map(["Name", "Last name"])).collect()
    assert got.select("person_first_name", "person_last_name").rows() == [(None, "Hansen")]
