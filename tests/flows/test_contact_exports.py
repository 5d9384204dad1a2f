"""Every real Outlook, Google and vCard export under ../shared/fixtures, imported end to end.

Each file is imported with `person.action = "add"` and `if_no_company = "without_company"`
(SPEC issue 3): a dry run that changes nothing, then a real run into an empty CRM. The
expectations were written by reading each file:

    file: (records in the file, persons, companies, e-mails, phones (every owner's, once
           per owner), one person as (first name, last name, company, first e-mail,
           first phone) or None)

Persons are counted by the spec's rule (rows sharing a person key are one person): the
two "Broken" cards of kcontacts_vcard10 are one person. A phone the file holds as text
("BusinessPhone", "tel_work", "zentrale") or that is no valid number is a warning and the
row goes on; fictional 555 numbers are such numbers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_import, table, table_hashes

SETTINGS = {"person": {"action": "add", "if_no_company": "without_company"},
            # a card with nothing importable (kcontacts_vcard7) is a reject of its own
            "import": {"max_rejects": 1.0}}

EXPECT: dict[str, tuple[int, int, int, int, int, tuple | None]] = {
    # --- outlook/ ---------------------------------------------------------------------------
    "ezvcard_John_Doe_MS_OUTLOOK.vcf": (1, 1, 1, 1, 2, ("John", "Doe", "IBM", "john.doe@ibm.cm", None)),
    "ezvcard_outlook-2003.vcf": (1, 1, 1, 1, 0, ("John", "Doe", "Company, The", "jdoe@hotmail.com", None)),
    "ezvcard_outlook-2007.vcf": (1, 1, 1, 1, 4, ("Michael", "Angstadt", "TheCompany",
                                           "mike.angstadt@gmail.com", None)),
    "gpcsolutions_google_shared_contacts_outlook_style.csv": (3, 3, 1, 5, 9, ("Adam", "Glacius", "Acme Inc.", "adam.glacius@anycom.com", None)),
    "projectopen_outlook2000_en_sample_latin1.csv": (1, 1, 1, 1, 3, ("Frank", "Bergmann", "Project/Open", "frank.bergmann@project-open.com",
                  "+34 93 325 0914")),
    "roundcube_outlook_emails_only.csv": (1, 1, 0, 3, 0, (None, None, None, "test1@domain.tld", None)),
    # row 2 is a company-only row ("The Firm"), row 3 a person at "Firma"
    "tine20_adb_outlook2007_default_de.csv": (2, 1, 2, 1, 2, ("Vorname", "Nachname", "Firma",
                                                        "email@example.org", None)),
    "tine20_importtest_outlook2013_de.csv": (2, 2, 1, 2, 3, ("Christian", "Baumann", "unittest",
                                                       "c.baumann@unittest.de",
                                                       "+49 (0) 40 6432131-550")),
    # --- google/ ----------------------------------------------------------------------------
    "ezvcard_John_Doe_GMAIL.vcf": (1, 1, 1, 1, 2, ("John", "Doe", "IBM", "john.doe@ibm.com", None)),
    "ezvcard_gmail-list.vcf": (3, 3, 0, 3, 0, ("Arnold", "Smith", None, "asmithk@gmail.com", None)),
    "ezvcard_gmail-single.vcf": (1, 1, 1, 1, 2, ("Greg", "Dartmouth", "TheCompany",
                                           "gdartmouth@hotmail.com", None)),
    "ezvcard_gmail-single2.vcf": (1, 1, 1, 5, 11, ("VCard", "Test", "TheCompany", "email@example.com",
                                            None)),
    # "email@localhost" is no deliverable address: a warning, the person goes on
    "integrity2gmail_google_legacy.csv": (3, 3, 0, 1, 0, ("Oero", "Smith", None, None, None)),
    "roundcube_gmail.csv": (1, 1, 1, 4, 0, ("Firstname", "Lastname", "company", "home@aaa.pl", None)),
    "tine20_adb_google_import.csv": (1, 1, 1, 1, 1, ("Max", "Mustermann", "Musterfirma",
                                               "max@muster.de", "04012345")),
    "tine20_google_contacts.csv": (5, 5, 0, 1, 5, ("Ando", "family", None, None, "+49227913452")),
    # --- vcard/ -----------------------------------------------------------------------------
    "calcard_003.vcf": (1, 1, 1, 1, 2, ("Forrest", "Gump", "Bubba Gump Shrimp Co.",
                                  "forrestgump@example.com", "+1-111-555-1212")),
    "calcard_005.vcf": (5, 5, 0, 3, 0, ("Thies-Tillman", "Jacobsen", None, None, None)),
    "calcard_009.vcf": (10, 10, 1, 4, 5, ("Mäx", "Mustermann", None, "max@mustermann.de",
                                    "+49123456789")),
    "calcard_047.vcf": (1, 1, 1, 1, 1, ("John", "Stevenson", "ABC, Inc.", "jqpublic@xyz.example.com",
                                  None)),
    # "11111111" is no US number, and the card's addresses are in the United States
    "calcard_066.vcf": (1, 1, 1, 4, 9, ("John", "Doe", "John Doe & Partners Limited",
                                  "john.doe@work.com", None)),
    # cards 1-2 are e-mail-only: persons without a name; card 5's 123456 is a mobile and a
    # work phone (one number: the person's) and a work fax (the company's)
    "ezvcard_John_Doe_ANDROID.vcf": (6, 6, 2, 4, 8, (None, None, None, "john.doe@company.com", None)),
    "ezvcard_John_Doe_BLACK_BERRY.vcf": (1, 1, 1, 0, 1, ("john", "Doe", "Acme Solutions", None,
                                                   "+96123456789")),
    "ezvcard_John_Doe_EVOLUTION.vcf": (1, 1, 1, 1, 2, ("John", "Doe", "IBM", "john.doe@ibm.com", None)),
    "ezvcard_John_Doe_IPHONE.vcf": (1, 1, 1, 1, 7, ("John", "Doe", "IBM", "john.doe@ibm.com", None)),
    "ezvcard_John_Doe_LOTUS_NOTES.vcf": (1, 1, 1, 2, 2, ("John", "Doe", "IBM", "john.doe@ibm.com", None)),
    "ezvcard_John_Doe_MAC_ADDRESS_BOOK.vcf": (1, 1, 1, 1, 7, ("John", "Doe", "IBM", "john.doe@ibm.com",
                                                        None)),
    "ezvcard_jcard-example.json": (1, 1, 1, 1, 2, ("Simon", "Perreault", "Viagenie",
                                             "simon.perreault@viagenie.ca",
                                             "+1-418-656-9254 ext. 102")),
    "ezvcard_rfc2426-example.vcf": (2, 2, 2, 3, 4, ("Frank", "Dawson", "Lotus Development Corporation",
                                              "Frank_Dawson@Lotus.com", "+1-919-676-9515")),
    "ezvcard_rfc6350-example.vcf": (1, 1, 1, 1, 2, ("Simon", "Perreault", "Viagenie",
                                              "simon.perreault@viagenie.ca",
                                              "+1-418-656-9254 ext. 102")),
    "ezvcard_rfc6351-xcard-example.xml": (1, 1, 1, 1, 2, ("Simon", "Perreault", "Viagenie",
                                                    "simon.perreault@viagenie.ca",
                                                    "+1-418-656-9254 ext. 102")),
    "ezvcard_thunderbird-MoreFunctionsForAddressBook-extension.vcf": (1, 1, 1, 5, 5, ("John", "Doe", "TheOrganization", "doe.john@hotmail.com", None)),
    "kcontacts_vcard1.vcf": (1, 1, 1, 2, 2, ("Frank", "Dawson", "Lotus Development Corporation",
                                       "Frank_Dawson@Lotus.com", "+1-919-676-9515")),
    "kcontacts_vcard10.vcf": (5, 3, 1, 0, 0, ("Broken", None, None, None, None)),
    "kcontacts_vcard3.vcf": (1, 1, 1, 1, 0, ("ian", "geiser", "Source eXtreme", "geiseri@yahoo.com",
                                       None)),
    "kcontacts_vcard4.vcf": (1, 0, 1, 1, 2, None),  # the Ximian company card
    "kcontacts_vcard7.vcf": (1, 0, 0, 0, 0, None),  # only an address label: rejected, said why
    "kcontacts_vcard9.vcf": (1, 1, 0, 0, 0, (
        "βγδεαβγδ1βγδεαβγδ1βγδεαβγδ1βγδεαβγδ1βγδεαβγδ1βγδεαβγδ1βγδεαβγδ1βγδεαβγδ1βγδεαβγδ1"
        "βγδεαβγδ1βγδεαβγδ1", "123ㄓㄕㄖbcdeαβγδαβγδαβγδαβγδαβγδαβγδαβㄤㄓㄕㄖ", None, None, None)),
    "roundcube_apple_v30_itemgroups.vcf": (1, 0, 1, 0, 0, None),  # an Apple company card
    "roundcube_johndoe_v21_cp1252.vcf": (1, 1, 1, 2, 2, ("John", "Doë", "roundcube.net",
                                                   "inbox@roundcube.net", "+987654321")),
    "roundcube_thebat_v21_qp.vcf": (1, 1, 0, 1, 0, ("Piotr", "Iksiñski", None,
                                              "piotr.iksinski@somedomain.com", None)),
    "roundcube_utf16_sample.vcf": (1, 1, 0, 0, 0, ("Ǽgean", "ĽdaMonté", None, None, None)),
    "tine20_WebDAVCollaborator.vcf": (1, 1, 1, 3, 4, ("Vorname", "Nachname", "Firma", "mail@example.com",
                                                "+49 (040) 12345 - 0")),
    "tine20_contactUmlaut.vcf": (1, 1, 1, 1, 0, ("Hans", "Müller", "Mein Schiff", "hans@schiff.de", None)),
    "tine20_emclient_addressbook.vcf": (1, 1, 1, 2, 6, ("Vor", "Nach", "Firma", "privat@email.de", None)),
    "tine20_ios_5_addressbook.vcf": (1, 1, 1, 3, 6, ("Lars", "Kneschke", "Organisation",
                                               "lars@kneschke.de", None)),
    "tine20_mac_os_x_addressbook.vcf": (1, 1, 1, 2, 6, ("Lars", "Kneschke", "ORGANI,SATION",
                                                  "l.kneschke@metaways.de", None)),
    "tine20_sogo_connector.vcf": (1, 1, 1, 2, 5, ("Lars", "Kneschke", "Organisation",
                                            "l.kneschke@metaways.de", None)),
    # N has only the family name, FN only the given name
    "tine20_telefonbuch.vcf": (1, 1, 0, 1, 1, ("Michael", "Spahn", None, "m.spahn@metaways.de",
                                         "040 12345")),
    "tine20_without_N_property.vcf": (1, 1, 1, 1, 0, ("Hans", "Müller", "Mein Schiff", "hans@schiff.de",
                                                None)),
    # --- section 7 (2026-12), read off each file ------------------------------------------------
    # Japanese Outlook (Shift-JIS, Japanese headers): one private contact, Max Mustermann
    "ox_jpcontact.csv": (1, 1, 0, 1, 0, ("Max", "Mustermann", None,
                                   "max.mustermann@invalid.domain.ox", None)),
    "sipxecs_phonebook_outlook.csv": (1, 1, 1, 1, 1, ("John", "Wayne", "Wild West", "john@wayne.com",
                                                "5555")),
    "sipxecs_phonebook_gmail.csv": (1, 1, 1, 1, 3, ("Zack", "McCracken", "Alien mindbender's company",
                                              "zack@mccracken.com", "66667")),
    "android_v21_complicated.vcf": (1, 1, 1, 2, 5, ("Forrest", "Gump", "Gump Shrimp Co.",
                                              "forrestgump@walladalla.com", "(111) 555-1212")),
    "android_v21_japanese_2.vcf": (1, 1, 0, 0, 0, ("ロイド1", "安藤", None, None, None)),  # Shift-JIS
    # three cards with a family name only (N:安藤ロイド3;;;;) and odd phone kinds
    "android_v21_multiple_entry.vcf": (3, 3, 0, 0, 12, (None, "安藤ロイド3", None, None, None)),
    # FN:Smith and no N: a one-word name is a first name (as kcontacts_vcard10's "Broken")
    "android_v21_pref_handling.vcf": (1, 1, 1, 2, 3, ("Smith", None, "Company", "test@example.com",
                                                None)),
    "android_v21_winmo_65.vcf": (1, 1, 0, 0, 0, (None, "Example", None, None, None)),
    "android_v30_ios_613_multiline.vcf": (1, 1, 1, 1, 1, ("Bob", "Smith", "Smith Auto Repair",
                                                    "bob@smithauto.com", "(650) 555-1212")),
    "android_v40_sort_as.vcf": (1, 1, 1, 0, 0, ("ロイド", "安藤", "グーグル", None, None)),
    # no N: the name is FN's
    "eds_vcard_13.vcf": (1, 1, 1, 1, 2, ("Ralf", "Engels", "Ralf Engels evil tests",
                                   "Frank_Dawson@Lotus.com", "+1-919-676-9515")),
    "eds_vcard_3.vcf": (1, 1, 0, 2, 2, ("Nat", "Friedman", None, "nat@nat.org", "617 679 1984")),
    # N has the given name only; its phones are text, not numbers (warnings)
    "eds_vcard_5.vcf": (1, 1, 1, 1, 0, ("十城目管理大型知座", None, "十城目管理大型知座",
                                  "weird@weird.com", None)),
    "khard_korean-c.vcf": (1, 1, 0, 0, 0, None),  # FN:최유림 only
    "khard_org.vcf": (1, 0, 1, 0, 0, None),  # KIND:org
    # card 3 holds only a nickname and an address: nothing to import by, rejected
    "monica_vcard_stub.vcf": (3, 2, 1, 2, 1, ("Bono", None, "U2", "bono@example.com",
                                        "+1 202-555-0191")),
    "nodevcf_gmail.vcf": (1, 1, 1, 1, 6, ("Stepcase", "TestUser", "Stepcase.com",
                                    "testuser@stepcase.com", None)),
    "nodevcf_jcard.json": (1, 1, 1, 1, 3, ("Forrest", "Gump", "Bubba Gump Shrimp Co",
                                     "forrestgump@example.com", "+1-111-555-1212")),
    "nodevcf_xing.vcf": (1, 1, 1, 0, 0, ("Hans-Peter", "Mustermann", "Example GmbH", None, None)),
    "pyvobject_vcard40_org.vcf": (1, 0, 1, 1, 1, None),  # KIND:org
    "radicale_vcard-quoted-printable1.vcf": (1, 1, 0, 0, 0, ("世勇", "黄", None, None, None)),
    "rcmcarddav_AllAttr.vcf": (1, 1, 1, 6, 12, ("Albert", "Wesker", "Umbrella Corp",
                                         "albert@wesker.example.com", "123")),
    "rcmcarddav_IM-Nextcloud.vcf": (1, 1, 0, 1, 0, ("Test", "Kontakt", None, "kontakt@example.com",
                                              None)),
    "rcmcarddav_IM-iOS.vcf": (1, 1, 0, 0, 0, ("Test", "IosIMKontakt", None, None, None)),
    "rcmcarddav_goldencomp.vcf": (1, 0, 1, 1, 0, None),  # X-ABShowAs:COMPANY
    "sabre_issue153.vcf": (1, 1, 0, 0, 0, ("Test", "Benutzer", None, None, None)),
    "sipxecs_StevenSpielberg.vcf": (1, 1, 1, 2, 4, ("Steven", "Spielberg", "Qantom", "stevens@sipx.com",
                                              "999")),
    "sipxecs_export.test.vcf": (3, 3, 1, 2, 6, ("Frank", "Dawson", "Lotus Development Corporation",
                                          "Frank_Dawson@Lotus.com", "+1-919-676-9515")),
    "thunderbird_dos_vcard_addressbook.vcf": (1, 1, 0, 1, 0, ("Name", "Surname", None,
                                                        "example@gmail.com", None)),
    # "contact1@invalid" has no domain to deliver to: a warning, like email@localhost
    "thunderbird_export.vcf": (2, 2, 0, 0, 0, ("contact", "one", None, None, None)),
    "vcard4android_allfields-vcard3.vcf": (1, 1, 1, 2, 2, ("Firstname", "Lastname", "ABC, Inc.",
                                                     "private@example.com", "+49 1234 56788")),
    # --- thunderbird/ (section 7) ------------------------------------------------------------------
    # ".invalid" addresses: no domain to deliver to (warnings), like contact1@invalid
    "thunderbird_csv_semicolon.csv": (2, 2, 0, 0, 0, ("John", "Doe", None, None, None)),
    # row 3's Job Title is "worker" in quotes, its Custom 1-4 are left out
    "thunderbird_export.csv": (2, 2, 0, 0, 0, ("contact", "one", None, None, None)),
    # Display Name = Organization, no first or last name: the company Acer America
    "thunderbird_quote.csv": (1, 0, 1, 0, 1, None),
    "thunderbird_shiftjis_addressbook.csv": (1, 1, 0, 0, 0, ("権兵衛", "名無し", None, None, None)),
    "thunderbird_utf16_addressbook.csv": (1, 1, 0, 0, 0, ("John", "Doe", None, None, None)),
}

FILES = sorted(p for folder in ("outlook", "google", "vcard", "thunderbird")
               for p in (FIXTURES / folder).iterdir())
# What the importer does not read yet as a person reads it: open issue 17 ("Meaning on real
# files"). Strict: each turns into a failure the day it is fixed, and the mark goes.
NOT_YET: dict[str, str] = {}
CASES = [pytest.param(p, id=p.name, marks=[pytest.mark.xfail(strict=True, reason=NOT_YET[p.name])]
                      if p.name in NOT_YET else []) for p in FILES]
# phone cells holding text: warnings, never rejects
TEXT_PHONES = {"ezvcard_outlook-2003.vcf": "TEL", "tine20_adb_outlook2007_default_de.csv":
               "Autotelefon", "tine20_ios_5_addressbook.vcf": "TEL"}


def test_every_fixture_has_an_expectation():
    assert {p.name for p in FILES} == set(EXPECT)


def _source(path: Path) -> str:
    if path.suffix.lower() == ".csv":
        return path.parent.name  # outlook/, google/ or thunderbird/
    return "vcard"


@pytest.mark.parametrize("path", CASES)
def test_fixture_imports(path: Path, tmp_path: Path):
    records, persons, companies, emails, phones, person = EXPECT[path.name]
    db = tmp_path / "crm.duckdb"
    preview = run_import(path, db, SETTINGS, dry_run=True)
    empty = table_hashes(db)
    assert preview["status"] == "preview", preview["errors"]
    assert preview["source"] == _source(path)
    assert preview["rows"]["read"] == records

    done = run_import(path, db, SETTINGS)
    assert done["status"] == "completed", done["errors"]
    assert done["rows"]["read"] == records
    assert done["person"]["new"] == persons == preview["person"]["new"]
    assert done["company"]["new"] == companies == preview["company"]["new"]
    assert table(db, "SELECT count(*) AS n FROM person")["n"][0] == persons
    assert table(db, "SELECT count(*) AS n FROM company")["n"][0] == companies
    assert table(db, "SELECT count(*) AS n FROM email")["n"][0] == emails
    assert table(db, "SELECT count(*) AS n FROM phone")["n"][0] == phones
    assert empty != table_hashes(db) or (persons == companies == 0)
    if path.name in TEXT_PHONES:
        assert done["rows"]["rejected"] == 0
        assert any(w["code"] == "invalid_value" and w["column"] == TEXT_PHONES[path.name]
                   for w in done["warnings"])
    if person is None:
        return
    first, last, company, email, phone = person
    found = table(db, """
        SELECT p.person_id, c.name AS company FROM person p LEFT JOIN company c USING (company_id)
        WHERE p.first_name IS NOT DISTINCT FROM ? AND p.last_name IS NOT DISTINCT FROM ?""",
                  [first, last])
    assert found.height >= 1, f"no person {first} {last}"
    pid = found["person_id"][0]
    assert found["company"][0] == company
    emails = table(db, "SELECT address FROM email WHERE owner_kind = 'person' AND owner_id = ? "
                   "ORDER BY rank", [pid])["address"].to_list()
    assert (emails[:1] or [None])[0] == email
    phones = table(db, "SELECT number FROM phone WHERE owner_kind = 'person' AND owner_id = ? "
                   "ORDER BY rank", [pid])["number"].to_list()
    if phone is not None:
        assert phone in phones


def test_non_ascii_values_from_8_bit_files(tmp_path: Path):
    """cp1252 Outlook (German) and Latin-1 Outlook (Spanish address) come out exactly."""
    db = tmp_path / "crm.duckdb"
    run_import(FIXTURES / "outlook" / "tine20_importtest_outlook2013_de.csv", db, SETTINGS)
    run_import(FIXTURES / "outlook" / "projectopen_outlook2000_en_sample_latin1.csv", db, SETTINGS)
    names = table(db, "SELECT first_name || ' ' || last_name AS n FROM person")["n"].to_list()
    assert "Cornelius Weiß" in names
    streets = table(db, "SELECT street FROM company WHERE name = 'Project/Open'")["street"]
    assert streets.to_list() == ["Ronda Sant Antoní 51, 1° 2ª"]


def test_outlook_company_only_row_gets_its_phone(tmp_path: Path):
    """A contact with an organisation and no person name is a company, with its phone."""
    db = tmp_path / "crm.duckdb"
    run_import(FIXTURES / "outlook" / "tine20_adb_outlook2007_default_de.csv", db, SETTINGS)
    phones = table(db, "SELECT c.name, ph.number, ph.kind FROM company c JOIN phone ph ON "
                   "ph.owner_kind = 'company' AND ph.owner_id = c.company_id ORDER BY c.name")
    # and the person's business fax (row 3) is the fax of that person's company
    assert phones.rows() == [("Firma", "+4923782112", "fax"), ("The Firm", "+4983242332", "phone")]


def test_google_groups_become_interests(tmp_path: Path):
    """"* My Contacts ::: Test": the user's group is an interest, Google's own is not."""
    db = tmp_path / "crm.duckdb"
    run_import(FIXTURES / "google" / "roundcube_gmail.csv", db, SETTINGS)
    assert table(db, "SELECT value FROM interest")["value"].to_list() == ["Test"]
    kinds = table(db, "SELECT kind, count(*) AS n FROM phone GROUP BY kind ORDER BY kind")
    assert set(kinds["kind"]) <= {"phone", "mobile", "home", "fax", "pager", "other"}


def test_vcard_company_card_has_the_company_values(tmp_path: Path):
    db = tmp_path / "crm.duckdb"
    run_import(FIXTURES / "vcard" / "roundcube_apple_v30_itemgroups.vcf", db, SETTINGS)
    assert table(db, "SELECT name, street, postcode, city, country FROM company").rows() == [
        ("Apple Computer AG", "Birgistrasse 4a", "8304", "Wallisellen-Zürich", "Switzerland")]
    assert table(db, "SELECT url FROM url WHERE owner_kind = 'company'")["url"].to_list() == [
        "http://www.apple.ch"]


AGREE = sorted(p for folder in ("outlook", "google", "thunderbird") for p in
               (FIXTURES / folder).glob("*.csv")) + [FIXTURES / "vcard" / "rcmcarddav_AllAttr.vcf"]


@pytest.mark.parametrize("path", AGREE, ids=lambda p: p.name)
def test_mapping_and_the_run_agree_on_every_column(path: Path, tmp_path: Path):
    """(issue 17 §8: Google's Address PO Box / Region shown as mapped by `crm-import mapping`,
    then listed as unmapped by the run; Thunderbird's Display Name shown as
    person_full_name, then as person_middle_name) Both say the same of every column."""
    import json

    from typer.testing import CliRunner

    from flows.cli import app

    shown = CliRunner().invoke(app, ["mapping", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    mapping = json.loads(shown.output)
    run = run_import(path, tmp_path / "crm.duckdb", SETTINGS, dry_run=True)
    assert run["mapping"]["columns"] == mapping["columns"]
    assert sorted(run["mapping"]["unmapped"]) == sorted(mapping["unmapped"])


def test_localized_outlook_headers(tmp_path: Path):
    """Outlook exports in Italian, Brazilian Portuguese, Polish and Finnish (Thunderbird's)
    are read as address books; the spellings come from the sources `contracts.exports`
    names per language."""
    cases = {
        "it.csv": (["Nome", "Cognome", "Società", "Indirizzo E-mail", "Telefono Mobile",
                    "Città di lavoro"], ["Anna", "Rossi", "Acme Srl", "anna@acme.it",
                                         "+39 333 123 4567", "Milano"]),
        "pt.csv": (["Primeiro nome", "Último nome", "Empresa", "Endereço de E-mail", "Celular",
                    "Cidade comercial"], ["Ana", "Souza", "Acme Ltda", "ana@acme.br",
                                          "+55 11 91234 5678", "São Paulo"]),
        "pl.csv": (["Imię", "Nazwisko", "Firma", "Adres e-mail", "Telefon komórkowy",
                    "Miasto (biuro)"], ["Anna", "Nowak", "Acme Sp. z o.o.", "anna@acme.pl",
                                        "+48 601 234 567", "Kraków"]),
        "fi.csv": (["Etunimi", "Sukunimi", "Järjestö", "Ensisijainen sähköposti",
                    "Matkapuhelinnumero", "Työpaikan kaupunki"],
                   ["Aino", "Virtanen", "Acme Oy", "aino@acme.fi", "+358 40 123 4567",
                    "Helsinki"]),
    }
    for name, (header, row) in cases.items():
        f = tmp_path / name
        f.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
        db = tmp_path / f"{name}.duckdb"
        done = run_import(f, db, SETTINGS)
        assert done["status"] == "completed" and done["source"] == "outlook", (name, done)
        assert not done["mapping"]["unmapped"], name
        got = table(db, "SELECT p.first_name, p.last_name, c.name, c.city, e.address, ph.number "
                        "FROM person p JOIN company c USING (company_id) JOIN email e ON "
                        "e.owner_id = p.person_id JOIN phone ph ON ph.owner_id = p.person_id")
        assert got.rows() == [(row[0], row[1], row[2], row[5], row[3], row[4])], name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_same_file_again_changes_nothing(path: Path, tmp_path: Path):
    """(issue 17 §1) With the default policy (merge), a second import of an export finds
    every record it made and changes nothing — save the records that have no key at all
    (`no_match_key`: a nameless person, created again, as the summary says)."""
    db = tmp_path / "crm.duckdb"
    first = run_import(path, db, {"import": {"max_rejects": 1.0}})
    assert first["status"] == "completed", first["errors"]
    before = table_hashes(db)
    again = run_import(path, db, {"import": {"max_rejects": 1.0}})
    assert again["status"] == "completed", again["errors"]
    keyless = {w["row"] for w in first["warnings"]
               if w["code"] == "no_match_key" and w.get("row") is not None}  # (not the total)
    assert again["company"]["updated"] == again["person"]["updated"] == 0
    assert again["company"]["new"] == 0
    assert again["person"]["new"] == len(keyless)
    if not keyless:
        assert table_hashes(db) == before
