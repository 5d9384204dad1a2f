"""Contact-export readers: vCard bytes, quoted-printable, Google pairs, localized Outlook."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import polars as pl
import pytest

from flows.pipeline import map_columns
from tests.conftest import FIXTURES, run_import, table, write_csv
from transforms.sources import read_source
from transforms.sources.contacts import apply_rules, detect_csv_export
from transforms.sources.vcard import logical_lines


def canonical(path: Path, **kw) -> dict:
    """The first record of a file as canonical field → value (filled fields only)."""
    mapped = map_columns(read_source(path, **kw), None, ())
    row = mapped.canonical.row(0, named=True)
    return {k: v for k, v in row.items() if v is not None and k != "source_row"}


CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Ødegård;Åse;;;\r\nORG:Blåbær AS\r\nEND:VCARD\r\n"


# --- decoding -----------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8),
    ("utf-16-le", b""), ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", b""), ("utf-16-be", codecs.BOM_UTF16_BE),
])
def test_vcard_text_encodings(tmp_path: Path, encoding: str, bom: bytes):
    path = tmp_path / "c.vcf"
    path.write_bytes(bom + CARD.encode(encoding))
    values = canonical(path)
    assert values["person_first_name"] == "Åse"
    assert values["person_last_name"] == "Ødegård"
    assert values["company_name"] == "Blåbær AS"


def test_vcard_charset_parameter_and_8_bit_fallback(tmp_path: Path):
    path = tmp_path / "c.vcf"
    path.write_bytes(b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1:M\xfcller;J\xfcrgen\r\n"
                     b"ORG:Caf\xe9 Noir\r\nEND:VCARD\r\n")
    raw = read_source(path)
    values = canonical(path)
    assert values["person_last_name"] == "Müller" and values["person_first_name"] == "Jürgen"
    assert values["company_name"] == "Café Noir"  # no CHARSET, not UTF-8: Windows-1252
    assert "cp1252" in raw.encoding


def test_unfolding_joins_a_character_split_by_a_fold():
    # "Ø" is C3 98 in UTF-8; the writer folded the line between the two bytes
    lines = logical_lines(b"BEGIN:VCARD\r\nNOTE:ab\xc3\r\n \x98cd\r\nEND:VCARD\r\n")
    assert lines[1] == "NOTE:abØcd".encode()


def test_fixture_with_split_characters_decodes_cleanly():
    values = canonical(FIXTURES / "vcard" / "kcontacts_vcard9.vcf")
    text = " ".join(values.values())
    assert "\ufffd" not in text
    assert values["person_notes"].startswith("Длинный комментарий на русском языке")


def test_quoted_printable_soft_breaks(tmp_path: Path):
    path = tmp_path / "qp.vcf"
    path.write_bytes(b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Hansen;Per\r\n"
                     b"NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:F=C3=B8rste linje=0D=0Aan=\r\n"
                     b"dre linje =E2=82=\r\n=AC 5\r\n"
                     b"ADR;WORK;QUOTED-PRINTABLE:;;Storgata 1=\r\n0;Oslo;;0155;Norge\r\n"
                     b"END:VCARD\r\n")
    values = canonical(path)
    # soft breaks join the value, even inside a multi-byte character (€ = E2 82 AC)
    assert values["person_notes"] == "Første linje\nandre linje € 5"
    assert values["person_street"] == "Storgata 10"  # no company: a work address is the person's
    assert values["person_city"] == "Oslo" and values["person_postcode"] == "0155"


def test_item_group_labels_name_the_phone_kind(tmp_path: Path):
    path = tmp_path / "apple.vcf"
    path.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Berg;Kari;;;\r\nORG:Fjord AS;Salg\r\n"
                    "item1.TEL:+47 22 33 44 55\r\nitem1.X-ABLabel:_$!<Main>!$_\r\n"
                    "item2.TEL:+47 900 11 222\r\nitem2.X-ABLabel:iPhone\r\n"
                    "TEL;TYPE=WORK,FAX:+47 22 33 44 56\r\nEND:VCARD\r\n", encoding="utf-8")
    values = canonical(path)
    assert values["company_phone"] == "+47 22 33 44 55"
    assert values["person_mobile"] == "+47 900 11 222"
    assert values["company_fax"] == "+47 22 33 44 56"
    assert values["company_department"] == "Salg"


# --- Google CSV --------------------------------------------------------------------------------

GOOGLE_CURRENT = ["First Name", "Middle Name", "Last Name", "Organization Name",
                  "Organization Title", "Organization Department", "Labels",
                  "E-mail 1 - Label", "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value",
                  "Address 1 - Label", "Address 1 - Street", "Address 1 - City",
                  "Address 1 - Postal Code", "Address 1 - Country", "Website 1 - Label",
                  "Website 1 - Value"]


def test_google_current_layout_splits_multiple_values(tmp_path: Path):
    path = write_csv(tmp_path / "contacts.csv", GOOGLE_CURRENT, [[
        "Kari", "", "Nordmann", "Fjord AS", "Daglig leder", "Ledelse",
        "* myContacts ::: Kunder ::: * starred",
        "* Work ::: Home", "kari@fjord.no ::: kari@privat.no",
        "Mobile ::: Work Fax", "+47 900 11 222 ::: +47 22 33 44 56",
        "Work", "Kaigata 1", "Bergen", "5003", "Norge", "Work", "https://fjord.no"]])
    assert read_source(path).source == "google"
    values = canonical(path)
    assert values["person_email"] == "kari@fjord.no"
    assert values["person_email_2"] == "kari@privat.no"
    assert values["person_mobile"] == "+47 900 11 222"
    assert values["company_fax"] == "+47 22 33 44 56"
    assert values["person_interest"] == "Kunder"  # Google's own groups are left out
    assert "person_interest_2" not in values
    assert (values["company_street"], values["company_city"]) == ("Kaigata 1", "Bergen")
    assert values["company_url"] == "https://fjord.no"
    assert (values["company_department"], values["person_position"]) == ("Ledelse", "Daglig leder")


def test_google_legacy_formatted_address_only_when_no_street(tmp_path: Path):
    header = ["Name", "Given Name", "Family Name", "Group Membership", "Address 1 - Type",
              "Address 1 - Formatted", "Address 1 - Street", "Address 2 - Type",
              "Address 2 - Formatted"]
    path = write_csv(tmp_path / "google.csv", header, [
        ["Per Hansen", "Per", "Hansen", "* My Contacts", "Home", "Storgata 1\n0155 Oslo",
         "Storgata 1", "Other", "Elsewhere 2"]])
    values = canonical(path)
    assert values["person_street"] == "Storgata 1"  # home before other; Formatted unused
    assert "person_interest" not in values


# --- Outlook CSV -------------------------------------------------------------------------------

# (first, last, company, business street, business city, mobile, e-mail, home phone, birthday)
LOCALIZED = {
    "en": ["First Name", "Last Name", "Company", "Business Street", "Business City",
           "Mobile Phone", "E-mail Address", "Home Phone", "Birthday"],
    "de": ["Vorname", "Nachname", "Firma", "Straße geschäftlich", "Ort geschäftlich",
           "Mobiltelefon", "E-Mail-Adresse", "Telefon privat", "Geburtstag"],
    "fr": ["Prénom", "Nom", "Société", "Rue (bureau)", "Ville (bureau)", "Tél. mobile",
           "Adresse de messagerie", "Téléphone (domicile)", "Anniversaire"],
    "es": ["Nombre", "Apellidos", "Organización", "Calle del trabajo", "Ciudad de trabajo",
           "Teléfono móvil", "Dirección de correo electrónico", "Particular", "Cumpleaños"],
    "nb": ["Fornavn", "Etternavn", "Firma", "Gateadresse (arbeid)", "Poststed (arbeid)",
           "Mobiltelefon", "E-postadresse", "Telefon (privat)", "Fødselsdag"],
    "sv": ["Förnamn", "Efternamn", "Företag", "Gatuadress (arbete)", "Postort (arbete)",
           "Mobiltelefon", "E-postadress", "Telefon (hem)", "Födelsedag"],
    "da": ["Fornavn", "Efternavn", "Firma", "Adresse (arbejde)", "By (arbejde)",
           "Mobiltelefon", "E-mail-adresse", "Telefon (privat)", "Fødselsdag"],
    "nl": ["Voornaam", "Achternaam", "Bedrijf", "Werkadres, straat", "Werkadres, plaats",
           "Mobiele telefoon", "E-mailadres", "Telefoon thuis", "Verjaardag"],
}


@pytest.mark.parametrize("language", LOCALIZED)
def test_localized_outlook_headers(tmp_path: Path, language: str):
    path = write_csv(tmp_path / f"outlook_{language}.csv", LOCALIZED[language], [
        ["Åse", "Ødegård", "Blåbær AS", "Storgata 1", "Oslo", "+47 900 11 222",
         "ase@blabaer.no", "+47 22 11 22 33", "0/0/00"]])
    assert read_source(path).source == "outlook"
    assert canonical(path) | {"person_birth_date": None} == {
        "person_first_name": "Åse", "person_last_name": "Ødegård", "company_name": "Blåbær AS",
        "company_street": "Storgata 1", "company_city": "Oslo",
        "person_mobile": "+47 900 11 222", "person_email": "ase@blabaer.no",
        "person_home_phone": "+47 22 11 22 33", "person_birth_date": None}


def test_outlook_street_lines_and_address_blocks(tmp_path: Path):
    header = ["First Name", "Last Name", "Business Street", "Business Street 2",
              "Business City", "Home Street", "Home City", "Other Street", "Other City",
              "Birthday", "E-mail Address", "E-mail 2 Address", "Categories"]
    path = write_csv(tmp_path / "outlook.csv", header, [
        ["Per", "Hansen", "Kaigata 1", "3. etasje", "Bergen", "", "", "Hytteveien 2", "Geilo",
         "0.0.00", "per@x.no", "per@y.no", "Kunde;Golf"]])
    values = canonical(path)
    # no company: the person's address is the first block filled, other before business
    assert (values["person_street"], values["person_city"]) == ("Hytteveien 2", "Geilo")
    assert "person_birth_date" not in values  # "0.0.00" is Outlook's empty date
    assert (values["person_email"], values["person_email_2"]) == ("per@x.no", "per@y.no")
    values_co = canonical(write_csv(tmp_path / "o2.csv", ["Company", *header], [
        ["Fjord AS", "Per", "Hansen", "Kaigata 1", "3. etasje", "Bergen", "", "", "", "", "",
         "", "", ""]]))
    assert values_co["company_street"] == "Kaigata 1, 3. etasje"


def test_detection_leaves_a_generic_csv_alone(tmp_path: Path):
    generic = write_csv(tmp_path / "kunder.csv", ["Company", "First name", "Last name", "Email",
                                                  "Mobile"], [["ACME", "Ola", "N", "o@a.no", ""]])
    assert read_source(generic).source == "csv"
    assert detect_csv_export(["Firma", "Org.nr", "Kontaktperson", "Telefon"]) is None
    assert detect_csv_export(["E-mail Address", "E-mail 2 Address"]) == "outlook"
    assert detect_csv_export(["Name", "Group Membership"]) == "google"
    forced = read_source(generic, source="outlook")
    assert forced.source == "outlook"


# --- the export rules ----------------------------------------------------------------------------

def _long(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"source_row": pl.Int64, "field": pl.String,
                                      "value": pl.String, "label": pl.String,
                                      "block": pl.String, "seq": pl.Int64}, orient="row")


def test_organisation_only_contact_is_a_company():
    long = _long([(1, "company_name", "Fjord AS", "ORG", None, 1),
                  (1, "person_email", "post@fjord.no", "EMAIL", None, 2),
                  (1, "person_mobile", "+47 900 11 222", "TEL", None, 3),
                  (1, "person_street", "Kaigata 1", "ADR", "home:4", 4),
                  (2, "company_url", "https://x.no", "URL", None, 1),
                  (2, "company_street", "Gate 2", "ADR", "business:2", 2),
                  (2, "person_email", "ola@x.no", "EMAIL", None, 3)])
    out = {(r, f): v for r, f, v in apply_rules(long).select("source_row", "field", "value").rows()}
    assert out == {(1, "company_name"): "Fjord AS", (1, "company_email"): "post@fjord.no",
                   (1, "company_phone"): "+47 900 11 222", (1, "company_street"): "Kaigata 1",
                   # no organisation: what the format calls business is the person's
                   (2, "person_url"): "https://x.no", (2, "person_street"): "Gate 2",
                   (2, "person_email"): "ola@x.no"}


# --- People API JSON -----------------------------------------------------------------------------

PEOPLE = {"connections": [
    {"resourceName": "people/c1", "names": [{"displayName": "Kari Nordmann", "givenName": "Kari",
                                             "familyName": "Nordmann"}],
     "organizations": [{"name": "Fjord AS", "title": "CEO", "department": "Ledelse"}],
     "emailAddresses": [{"value": "kari@fjord.no", "type": "work"}],
     "phoneNumbers": [{"value": "+47 900 11 222", "type": "mobile"},
                      {"value": "+47 22 33 44 56", "type": "workFax"}],
     "addresses": [{"streetAddress": "Kaigata 1", "city": "Bergen", "postalCode": "5003",
                    "country": "Norway", "type": "work"}],
     "birthdays": [{"date": {"year": 1980, "month": 5, "day": 17}}],
     "memberships": [{"contactGroupMembership": {"contactGroupId": "myContacts"}},
                     {"contactGroupMembership": {"contactGroupId": "friends"}}]},
    {"resourceName": "people/c2", "organizations": [{"name": "Havn AS"}],
     "phoneNumbers": [{"value": "+47 55 00 00 00", "type": "work"}]},
    {"resourceName": "people/c3", "emailAddresses": [{"value": "anon@example.org"}]},
], "totalPeople": 3}


def test_people_api_json(tmp_path: Path):
    path = tmp_path / "connections.json"
    path.write_text(json.dumps(PEOPLE), encoding="utf-8")
    raw = read_source(path)
    assert (raw.source, raw.format, raw.frame.height) == ("google", "people-api", 3)
    values = canonical(path)
    assert values == {
        "person_first_name": "Kari", "person_last_name": "Nordmann", "company_name": "Fjord AS",
        "company_department": "Ledelse", "person_position": "CEO",
        "person_email": "kari@fjord.no", "person_mobile": "+47 900 11 222",
        "company_fax": "+47 22 33 44 56", "company_street": "Kaigata 1",
        "company_city": "Bergen", "company_postcode": "5003", "company_country": "Norway",
        "person_birth_date": "1980-05-17", "person_interest": "Friends"}
    summary = run_import(path, tmp_path / "crm.duckdb",
                         {"person": {"if_no_company": "without_company"}})
    assert summary["rows"]["read"] == 3
    # c2 has only an organisation: a company with its phone; c3 a person without a name
    assert (summary["company"]["new"], summary["person"]["new"]) == (2, 2)
    assert table(tmp_path / "crm.duckdb", "SELECT c.name FROM phone p JOIN company c ON "
                 "p.owner_kind = 'company' AND p.owner_id = c.company_id "
                 "WHERE p.number = '+47 55 00 00 00'")["name"].to_list() == ["Havn AS"]


# --- the whole policy applies ----------------------------------------------------------------

def test_reimporting_a_vcard_file_matches_what_it_created(tmp_path: Path):
    db = tmp_path / "crm.duckdb"
    path = FIXTURES / "vcard" / "ezvcard_rfc2426-example.vcf"
    first = run_import(path, db)
    again = run_import(path, db)
    assert (first["person"]["new"], first["company"]["new"]) == (2, 2)
    assert (again["person"]["new"], again["company"]["new"]) == (0, 0)
    assert again["person"]["unchanged"] == 2 and again["company"]["unchanged"] == 2


VCF_FILES = sorted(p for folder in ("outlook", "google", "vcard")
                   for p in (FIXTURES / folder).glob("*.vcf"))


@pytest.mark.parametrize("path", VCF_FILES, ids=[p.name for p in VCF_FILES])
def test_frame_reader_reads_what_the_line_reader_reads(path: Path):
    """The fast whole-frame reader (plain UTF-8 files) and the line reader agree."""
    from transforms.sources.vcard import (
        _parse_vcf_frame,
        _parse_vcf_lines,
        _to_utf8_bytes,
        needs_lines,
    )

    data, _ = _to_utf8_bytes(path.read_bytes(), path, None)
    fast = _parse_vcf_frame(data, path)
    slow = _parse_vcf_lines(data, path)
    if fast is None:  # quoted-printable, 8-bit or other charsets: only the line reader
        assert needs_lines(data) or not _is_utf8(data)
        assert slow.cards > 0
        return
    lines = slow.table()
    assert fast.cards == slow.cards
    assert fast.left_out == slow.left_out
    # same properties in the same order (seq counts differently: lines vs properties)
    cols = ["source_row", "group", "name", "types", "value"]
    assert fast.frame.select(cols).rows() == lines.select(cols).rows()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
