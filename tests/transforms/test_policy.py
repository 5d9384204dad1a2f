"""The import policy, table-driven (SPEC §3): actions, protect, keys, lists, multi-values."""

from __future__ import annotations

import pytest

from tests.conftest import run_import, seed, snapshot, table, write_csv

pytestmark = pytest.mark.both_stores

ACTIONS = ("merge", "replace", "skip", "add")


def _company_street(db):
    return table(db, "SELECT company_id, name, street FROM company ORDER BY company_id").rows()


# --- every action × CRM field empty/filled × import cell empty/filled ---------------------------

EXPECTED = {
    # (action, crm filled, import filled): (street of the original record, outcome, companies)
    ("merge", False, False): (None, "unchanged", 1),
    ("merge", False, True): ("Broadway 123", "updated", 1),
    ("merge", True, False): ("Main street 456", "unchanged", 1),
    ("merge", True, True): ("Main street 456", "unchanged", 1),
    ("replace", False, False): (None, "unchanged", 1),
    ("replace", False, True): ("Broadway 123", "updated", 1),
    ("replace", True, False): ("Main street 456", "unchanged", 1),
    ("replace", True, True): ("Broadway 123", "updated", 1),
    ("skip", False, False): (None, "skipped", 1),
    ("skip", False, True): (None, "skipped", 1),
    ("skip", True, False): ("Main street 456", "skipped", 1),
    ("skip", True, True): ("Main street 456", "skipped", 1),
    ("add", False, False): (None, "new", 2),
    ("add", False, True): (None, "new", 2),
    ("add", True, False): ("Main street 456", "new", 2),
    ("add", True, True): ("Main street 456", "new", 2),
}


@pytest.mark.parametrize(("action", "crm_filled", "import_filled"), list(EXPECTED))
def test_action_field_table(tmp_path, db, action, crm_filled, import_filled):
    seed(db, companies=[{"company_id": 1, "name": "ACME Inc.",
                         "street": "Main street 456" if crm_filled else None}])
    f = write_csv(tmp_path / "in.csv", ["Company", "Address"],
                  [["ACME Inc.", "Broadway 123" if import_filled else ""]])
    s = run_import(f, db, {"company": {"action": action}, "person": {"match": "none"}})
    street, outcome, n = EXPECTED[(action, crm_filled, import_filled)]
    assert s["status"] == "completed"
    assert s["company"][outcome] == 1
    assert sum(s["company"].values()) == 1
    rows = _company_street(db)
    assert len(rows) == n
    assert rows[0] == (1, "ACME Inc.", street)
    if action == "add":  # the new record carries the import's values
        assert rows[1][2] == ("Broadway 123" if import_filled else None)


def test_acme_example_from_spec(tmp_path):
    """SPEC §3: import ACME Inc. / Broadway 123 / VAT 11223344 / no code."""
    expected = {
        "merge": ("ACME Inc.", "Main street 456", "11223344", "ACME1"),
        "replace": ("ACME Inc.", "Broadway 123", "11223344", "ACME1"),
        "skip": ("ACME Inc.", "Main street 456", None, "ACME1"),
    }
    for action, after in expected.items():
        db = tmp_path / f"{action}.duckdb"
        seed(db, companies=[{"company_id": 1, "name": "ACME Inc.", "street": "Main street 456",
                             "vat_number": None, "code": "ACME1"}])
        f = write_csv(tmp_path / "acme.csv", ["Company", "Address", "VAT", "Code"],
                      [["ACME Inc.", "Broadway 123", "11223344", ""]])
        s = run_import(f, db, {"company": {"action": action}})
        assert s["status"] == "completed", s["errors"]
        got = table(db, "SELECT name, street, vat_number, code FROM company").rows()
        assert got == [after], action


def test_protect_keeps_crm_value_even_under_replace(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "ACME Inc.", "street": "Main street 456",
                         "city": "Oslo"}])
    f = write_csv(tmp_path / "in.csv", ["Company", "Address", "City"],
                  [["ACME Inc.", "Broadway 123", "Bergen"]])
    run_import(f, db, {"company": {"action": "replace", "protect": ["street"]},
                       "person": {"match": "none"}})
    assert table(db, "SELECT street, city FROM company").rows() == [("Main street 456", "Bergen")]


def test_protect_applies_to_persons_too(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "ACME"}],
         persons=[{"person_id": 1, "company_id": 1, "first_name": "Ola", "last_name": "Nordmann",
                   "title": "Mr"}])
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Title"],
                  [["ACME", "Ola", "Nordmann", "Dr"]])
    run_import(f, db, {"person": {"action": "replace", "protect": ["title"]}})
    assert table(db, "SELECT title FROM person").rows() == [("Mr",)]


# --- match keys, with formatting variants ---------------------------------------------------------

COMPANY_KEYS = [
    # (match, CRM record, import header, import value that must match)
    ("name", {"name": "ACME Inc."}, "Company", "  acme   INC. "),
    ("number", {"name": "A", "number": "K-100"}, "Customer number", " k-100 "),
    ("code", {"name": "A", "code": "AcMe1"}, "Code", "ACME1"),
    ("vat", {"name": "A", "vat_number": "NO 923 609 016 MVA"}, "VAT", "923609016"),
    ("orgnr", {"name": "A", "orgnr": "923609016"}, "Org.nr", "923 609 016"),
    ("id", {"name": "A"}, "Company ID", "7"),
]


@pytest.mark.parametrize(("match", "record", "header", "value"), COMPANY_KEYS)
def test_company_match_keys(tmp_path, db, match, record, header, value):
    seed(db, companies=[{"company_id": 7, **record}])
    cols = [header] if header == "Company" else ["Company", header]
    vals = [value] if header == "Company" else ["Other spelling AS", value]
    f = write_csv(tmp_path / "in.csv", cols, [vals])
    s = run_import(f, db, {"company": {"match": match}, "person": {"match": "none"}})
    assert s["status"] == "completed", s["errors"]
    assert s["company"]["new"] == 0
    assert s["company"]["updated"] + s["company"]["unchanged"] == 1
    assert table(db, "SELECT count(*) FROM company").item() == 1


def test_name_plus_department(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "ACME", "department": "Sales"}])
    f = write_csv(tmp_path / "in.csv", ["Company", "Department"],
                  [["acme", "SALES"], ["ACME", "Support"]])
    s = run_import(f, db, {"company": {"match": "name+department"}, "person": {"match": "none"}})
    assert (s["company"]["unchanged"], s["company"]["new"]) == (1, 1)


PERSON_KEYS = [
    ("email", {"emails": [{"address": "Ola.Nordmann@Example.NO"}]}, "Email", "ola.nordmann@example.no"),
    ("mobile", {"phones": [{"kind": "mobile", "number": "+47 900 11 222",
                            "number_e164": "+4790011222"}]}, "Mobile", "900 11 222"),
    ("number", {"number": "P-7"}, "Person number", "p-7"),
    ("id", {}, "Person ID", "5"),
]


@pytest.mark.parametrize(("match", "extra", "header", "value"), PERSON_KEYS)
def test_person_global_match_keys(tmp_path, db, match, extra, header, value):
    person = {"person_id": 5, "company_id": 1, "first_name": "Ola", "last_name": "Nordmann"}
    if "number" in extra:
        person["number"] = extra["number"]
    seed(db, companies=[{"company_id": 1, "name": "ACME"}], persons=[person],
         emails=[{"email_id": 1, "owner_kind": "person", "owner_id": 5, "rank": 1, **e}
                 for e in extra.get("emails", [])],
         phones=[{"phone_id": 1, "owner_kind": "person", "owner_id": 5, "rank": 1, **p}
                 for p in extra.get("phones", [])])
    # another spelling of the name: a global key matches regardless
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", header],
                  [["ACME", "Ole", "Nordman", value]])
    s = run_import(f, db, {"person": {"match": match}})
    assert s["status"] == "completed", s["errors"]
    assert s["person"]["new"] == 0, s
    assert table(db, "SELECT count(*) FROM person").item() == 1


def test_person_name_is_scoped_to_the_company(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "ACME"}, {"company_id": 2, "name": "Beta"}],
         persons=[{"person_id": 1, "company_id": 1, "first_name": "Ola", "last_name": "Nordmann"}])
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name"],
                  [["acme", " OLA ", "nordmann"], ["Beta", "Ola", "Nordmann"]])
    s = run_import(f, db)
    assert (s["person"]["unchanged"], s["person"]["new"]) == (1, 1)
    assert table(db, "SELECT company_id FROM person ORDER BY person_id").rows() == [(1,), (2,)]


def test_ambiguous_key_is_reported_not_guessed(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "ACME"}, {"company_id": 2, "name": "Acme"}])
    f = write_csv(tmp_path / "in.csv", ["Company", "City", "First name", "Last name"],
                  [["ACME", "Oslo", "Ola", "Nordmann"]])
    before = snapshot(db)
    s = run_import(f, db)
    assert s["company"]["ambiguous"] == 1
    assert s["person"]["skipped"] == 1
    assert snapshot(db) == before
    reasons = table(db, "SELECT entity, reason FROM staging.plan ORDER BY entity").rows()
    assert reasons == [("company", "matches several CRM records: 1, 2"),
                       ("person", "its company is ambiguous")]


# --- empty keys and duplicates within a file ----------------------------------------------------


def test_empty_key_creates_new_and_warns_each_time(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["Company", "Org.nr"], [["ACME", ""]])
    for run in (1, 2):
        s = run_import(f, db, {"company": {"match": "orgnr"}, "person": {"match": "none"}})
        assert s["company"]["new"] == 1
        no_key = [w for w in s["warnings"] if w["code"] == "no_match_key"]
        assert no_key and "again" in no_key[0]["message"]
        assert table(db, "SELECT count(*) FROM company").item() == run


def test_rows_sharing_a_key_become_one_entity(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["Company", "City", "First name", "Last name", "Email"], [
        ["ACME", "Oslo", "Ola", "Nordmann", "ola@acme.no"],
        ["acme", "Bergen", "Kari", "Hansen", ""],
        ["ACME ", "", "ola", "NORDMANN", "ola2@acme.no"],
        ["ACME", "", "Per", "Berg", ""],
    ])
    s = run_import(f, db)
    assert s["company"] == {"new": 1, "updated": 0, "unchanged": 0, "skipped": 0, "ambiguous": 0}
    assert s["person"]["new"] == 3
    assert table(db, "SELECT city FROM company").rows() == [("Oslo",)]  # first non-empty wins
    conflicts = [w for w in s["warnings"] if w["code"] == "conflict"]
    assert conflicts and conflicts[0]["column"] == "City"
    emails = table(db, "SELECT address FROM email ORDER BY rank").rows()
    assert emails == [("ola@acme.no",), ("ola2@acme.no",)]  # both rows' values on one person


# --- persons without company --------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["create_company", "skip", "without_company"])
def test_if_no_company(tmp_path, db, policy):
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name"],
                  [["ACME", "Ola", "Nordmann"], ["", "Kari", "Hansen"]])
    s = run_import(f, db, {"person": {"if_no_company": policy}})
    persons = table(db, "SELECT p.first_name, c.name FROM person p "
                        "LEFT JOIN company c USING (company_id) ORDER BY p.person_id").rows()
    if policy == "create_company":
        assert s["company"]["new"] == 2 and s["person"]["new"] == 2
        assert persons == [("Ola", "ACME"), ("Kari", "Kari Hansen")]
    elif policy == "skip":
        assert s["company"]["new"] == 1 and s["person"] == {**s["person"], "new": 1, "skipped": 1}
        assert persons == [("Ola", "ACME")]
    else:
        assert s["company"]["new"] == 1 and s["person"]["new"] == 2
        assert persons == [("Ola", "ACME"), ("Kari", None)]
    # and again: nothing new the second time
    again = run_import(f, db, {"person": {"if_no_company": policy}})
    assert again["company"]["new"] == 0 and again["person"]["new"] == 0, again


def test_person_only_file_follows_if_no_company(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["First name", "Last name", "Email"],
                  [["Ola", "Nordmann", "ola@example.no"]])
    s = run_import(f, db, {"person": {"if_no_company": "without_company"}})
    assert s["status"] == "completed" and s["company"]["new"] == 0 and s["person"]["new"] == 1


def test_company_only_row_yields_company_outcome_only(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name"],
                  [["ACME", "", ""], ["Beta", "Ola", "Nordmann"]])
    s = run_import(f, db)
    assert s["company"]["new"] == 2 and s["person"]["new"] == 1
    plan = table(db, "SELECT source_row, entity FROM staging.plan ORDER BY 1, 2").rows()
    assert plan == [(2, "company"), (3, "company"), (3, "person")]


def test_person_matched_globally_under_another_company(tmp_path):
    for action, expected in (("merge", 1), ("replace", 2)):
        db = tmp_path / f"{action}.duckdb"
        seed(db, companies=[{"company_id": 1, "name": "Old AS"}, {"company_id": 2, "name": "New AS"}],
             persons=[{"person_id": 1, "company_id": 1, "first_name": "Ola", "last_name": "N"}],
             emails=[{"email_id": 1, "owner_kind": "person", "owner_id": 1, "address": "ola@x.no",
                      "rank": 1}])
        f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Email"],
                      [["New AS", "Ola", "N", "ola@x.no"]])
        run_import(f, db, {"person": {"match": "email", "action": action}})
        assert table(db, "SELECT company_id FROM person").item() == expected, action


# --- lists ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "stored", "items"), [
    ("add", "VIP", {"Customer", "Partner", "VIP"}),
    ("default", "Customer", {"Customer", "Partner"}),
    ("blank", None, {"Customer", "Partner"}),
])
def test_list_values(tmp_path, db, policy, stored, items):
    seed(db, list_items=[
        {"list_item_id": 1, "list_name": "category", "value": "Customer", "is_default": True},
        {"list_item_id": 2, "list_name": "category", "value": "Partner", "is_default": False}])
    f = write_csv(tmp_path / "in.csv", ["Company", "Category"], [["A", "VIP"], ["B", "partner"]])
    run_import(f, db, {"lists": {"category": policy}, "person": {"match": "none"}})
    got = dict(table(db, "SELECT name, category FROM company").rows())
    assert got == {"A": stored, "B": "Partner"}  # known values take the list's spelling
    listed = {v for (v,) in table(db, "SELECT value FROM list_item WHERE list_name = 'category'").rows()}
    assert listed == items


def test_interests_are_list_values_too(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Interests"],
                  [["A", "Ola", "N", "Golf; Sailing"], ["A", "Kari", "H", "golf"]])
    run_import(f, db)
    assert sorted(table(db, "SELECT value FROM interest").rows()) == [("Golf",), ("Golf",), ("Sailing",)]
    assert table(db, "SELECT count(*) FROM list_item WHERE list_name = 'interest'").item() == 2


# --- multi-valued fields: every cell of SPEC's table ----------------------------------------------

MOBILE_OLD, MOBILE_NEW, LANDLINE = "+4790000001", "+4790000002", "+4722334455"


def _seed_person_values(db, *, with_mobile=True, with_email=True):
    seed(db, companies=[{"company_id": 1, "name": "ACME"}],
         persons=[{"person_id": 1, "company_id": 1, "first_name": "Ola", "last_name": "N"}],
         phones=[p for p in (
             {"phone_id": 1, "owner_kind": "person", "owner_id": 1, "kind": "mobile",
              "number": "900 00 001", "number_e164": MOBILE_OLD, "rank": 1} if with_mobile else None,
             {"phone_id": 2, "owner_kind": "person", "owner_id": 1, "kind": "phone",
              "number": "22 33 44 55", "number_e164": LANDLINE, "rank": 2}) if p],
         emails=[{"email_id": 3, "owner_kind": "person", "owner_id": 1, "address": "old@acme.no",
                  "rank": 1}] if with_email else [])


def _values(db):
    phones = table(db, "SELECT kind, number_e164 FROM phone ORDER BY kind, number_e164").rows()
    emails = [a for (a,) in table(db, "SELECT address FROM email ORDER BY rank, address").rows()]
    return phones, emails


@pytest.mark.parametrize(("action", "policy", "phones", "emails"), [
    ("merge", "add", [("mobile", MOBILE_OLD), ("mobile", MOBILE_NEW), ("phone", LANDLINE)],
     ["old@acme.no", "new@acme.no"]),
    ("merge", "replace", [("mobile", MOBILE_NEW), ("phone", LANDLINE)], ["new@acme.no"]),
    ("merge", "ignore", [("mobile", MOBILE_OLD), ("phone", LANDLINE)], ["old@acme.no"]),
    ("replace", "add", [("mobile", MOBILE_OLD), ("mobile", MOBILE_NEW), ("phone", LANDLINE)],
     ["old@acme.no", "new@acme.no"]),
    ("replace", "replace", [("mobile", MOBILE_NEW), ("phone", LANDLINE)], ["new@acme.no"]),
    ("replace", "ignore", [("mobile", MOBILE_OLD), ("phone", LANDLINE)], ["old@acme.no"]),
    ("skip", "add", [("mobile", MOBILE_OLD), ("phone", LANDLINE)], ["old@acme.no"]),
    ("skip", "replace", [("mobile", MOBILE_OLD), ("phone", LANDLINE)], ["old@acme.no"]),
    ("skip", "ignore", [("mobile", MOBILE_OLD), ("phone", LANDLINE)], ["old@acme.no"]),
])
def test_multi_values_of_matched_records(tmp_path, db, action, policy, phones, emails):
    _seed_person_values(db)
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Mobile", "Email"],
                  [["ACME", "Ola", "N", "900 00 002", "new@acme.no"]])
    s = run_import(f, db, {"person": {"action": action},
                           "lists": {"phones": policy, "urls_emails": policy}})
    assert _values(db) == (phones, emails)
    changed = (phones, emails) != ([("mobile", MOBILE_OLD), ("phone", LANDLINE)], ["old@acme.no"])
    assert s["person"]["updated"] == (1 if changed else 0)


@pytest.mark.parametrize(("policy", "urls"), [
    ("add", ["acme.no", "https://www.acme.com/"]),
    ("replace", ["https://www.acme.com/"]),
    ("ignore", ["acme.no"]),
])
def test_urls_of_matched_records(tmp_path, db, policy, urls):
    seed(db, companies=[{"company_id": 1, "name": "ACME"}],
         urls=[{"url_id": 1, "owner_kind": "company", "owner_id": 1, "url": "acme.no", "rank": 1}])
    f = write_csv(tmp_path / "in.csv", ["Company", "Website"],
                  [["ACME", "https://www.acme.com/"]])
    run_import(f, db, {"person": {"match": "none"}, "lists": {"urls_emails": policy}})
    assert [u for (u,) in table(db, "SELECT url FROM url ORDER BY rank").rows()] == urls


def test_the_same_url_in_another_spelling_is_no_new_value(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "ACME"}],
         urls=[{"url_id": 1, "owner_kind": "company", "owner_id": 1, "url": "acme.no", "rank": 1}])
    f = write_csv(tmp_path / "in.csv", ["Company", "Website"], [["ACME", "HTTP://www.ACME.no/"]])
    s = run_import(f, db, {"person": {"match": "none"}})
    assert s["company"]["unchanged"] == 1


def test_ignore_adds_where_the_record_has_none_of_that_kind(tmp_path, db):
    _seed_person_values(db, with_mobile=False, with_email=False)
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Mobile", "Email"],
                  [["ACME", "Ola", "N", "900 00 002", "new@acme.no"]])
    run_import(f, db, {"lists": {"phones": "ignore", "urls_emails": "ignore"}})
    assert _values(db) == ([("mobile", MOBILE_NEW), ("phone", LANDLINE)], ["new@acme.no"])


@pytest.mark.parametrize("policy", ["add", "replace", "ignore"])
def test_new_records_get_all_imported_values(tmp_path, db, policy):
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Mobile", "Email",
                                        "Email 2", "Website"],
                  [["ACME", "Ola", "N", "900 00 002", "a@acme.no", "b@acme.no", "acme.no"]])
    run_import(f, db, {"lists": {"phones": policy, "urls_emails": policy}})
    assert _values(db) == ([("mobile", MOBILE_NEW)], ["a@acme.no", "b@acme.no"])
    assert table(db, "SELECT owner_kind, url FROM url").rows() == [("company", "acme.no")]


def test_no_duplicates_after_normalisation_and_empty_cells_remove_nothing(tmp_path, db):
    _seed_person_values(db)
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Mobile", "Email"],
                  [["ACME", "Ola", "N", "+47 900 00 001", " OLD@acme.NO "]])
    s = run_import(f, db, {"lists": {"phones": "add", "urls_emails": "add"}})
    assert s["person"]["unchanged"] == 1
    f = write_csv(tmp_path / "in2.csv", ["Company", "First name", "Last name", "Mobile", "Email"],
                  [["ACME", "Ola", "N", "", ""]])
    run_import(f, db, {"lists": {"phones": "replace", "urls_emails": "replace"}})
    assert _values(db) == ([("mobile", MOBILE_OLD), ("phone", LANDLINE)], ["old@acme.no"])


def test_value_changes_are_in_the_change_log(tmp_path, db):
    _seed_person_values(db)
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Mobile", "Email"],
                  [["ACME", "Ola", "N", "900 00 002", "new@acme.no"]])
    s = run_import(f, db, {"lists": {"phones": "replace", "urls_emails": "replace"}})
    log = table(db, "SELECT entity, op FROM change_log WHERE run_id = ? ORDER BY entity, op",
                [s["run_id"]]).rows()
    assert log == [("email", "delete"), ("email", "insert"), ("phone", "delete"), ("phone", "insert")]


# --- field-level change log, privacy -------------------------------------------------------------


def test_change_log_names_crm_columns(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "ACME Inc.", "vat_number": None}])
    f = write_csv(tmp_path / "in.csv", ["Company", "VAT"], [["ACME Inc.", "11223344"]])
    s = run_import(f, db, {"person": {"match": "none"}})
    rows = table(db, "SELECT entity, entity_id, op, field, old_value, new_value FROM change_log "
                     "WHERE run_id = ?", [s["run_id"]]).rows()
    assert rows == [("company", 1, "update", "vat_number", None, "11223344")]
    members = table(db, "SELECT selection_id, entity, entity_id FROM selection_member").rows()
    assert members == [(f"{s['run_id']}-updated", "company", 1)]


def test_privacy_fields_follow_the_action_on_matched_persons(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "A"}],
         persons=[{"person_id": 1, "company_id": 1, "first_name": "Ola", "last_name": "N",
                   "legal_basis": None, "consent_source": "web form"}])
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name"], [["A", "Ola", "N"]])
    s = run_import(f, db, {"privacy": {"legal_basis": "Consent"}})
    assert s["person"]["updated"] == 1
    # merge: the empty legal basis is filled, the filled consent source kept
    assert table(db, "SELECT legal_basis, consent_source FROM person").rows() == [
        ("Consent", "web form")]


def test_privacy_fields_on_created_persons(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name"], [["A", "Ola", "N"]])
    run_import(f, db, {"privacy": {"legal_basis": "Consent", "consent_source": "fair 2026",
                                   "comment": "stand"}})
    assert table(db, "SELECT legal_basis, consent_source, consent_comment FROM person").rows() == [
        ("Consent", "fair 2026", "stand")]


# --- rejects threshold ---------------------------------------------------------------------------


def _two_bad_of_four(tmp_path):
    return write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Email"], [
        ["A", "Ola", "N", "ola@a.no"], ["B", "Kari", "H", "not-an-email"],
        ["C", "Per", "B", "also bad"], ["D", "Eva", "L", "eva@d.no"]])


def test_max_rejects_share_exceeded_applies_nothing(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "Z"}])
    before = snapshot(db)
    s = run_import(_two_bad_of_four(tmp_path), db,
                   {"person": {"match": "email"}, "import": {"max_rejects": 0.25}})
    assert s["status"] == "failed" and s["rows"]["rejected"] == 2
    assert "max_rejects" in s["errors"][0]
    assert snapshot(db) == before
    assert table(db, "SELECT status FROM import_run").item() == "failed"
    assert table(db, "SELECT count(*) FROM staging.rejects").item() == 2  # still inspectable


def test_max_rejects_as_a_count(tmp_path, db):
    s = run_import(_two_bad_of_four(tmp_path), db,
                   {"person": {"match": "email"}, "import": {"max_rejects": 2}})
    assert s["status"] == "completed" and s["rows"]["rejected"] == 2 and s["person"]["new"] == 2
    s = run_import(_two_bad_of_four(tmp_path), db,
                   {"person": {"match": "email"}, "import": {"max_rejects": 1}})
    assert s["status"] == "failed"


def test_missing_match_column_is_an_error_before_anything(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["Company", "First name"], [["A", "Ola"]])
    s = run_import(f, db, {"company": {"match": "vat"}})
    assert s["status"] == "failed"
    assert "company.match = 'vat'" in s["errors"][0]
    assert table(db, "SELECT count(*) FROM company").item() == 0


def test_invalid_optional_value_is_dropped_alone(tmp_path, db):
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Email", "Phone"],
                  [["A", "Ola", "N", "bad@", "call me"]])
    s = run_import(f, db)
    assert s["rows"]["rejected"] == 0 and s["person"]["new"] == 1
    assert {w["column"] for w in s["warnings"]} == {"Email", "Phone"}
    assert table(db, "SELECT count(*) FROM email").item() == 0


def test_create_company_leaves_a_known_person_in_its_company(tmp_path, db):
    seed(db, companies=[{"company_id": 1, "name": "ACME"}],
         persons=[{"person_id": 1, "company_id": 1, "first_name": "Ola", "last_name": "N"}],
         emails=[{"email_id": 1, "owner_kind": "person", "owner_id": 1, "address": "ola@x.no",
                  "rank": 1}])
    f = write_csv(tmp_path / "in.csv", ["First name", "Last name", "Email", "Mobile"],
                  [["Ola", "N", "OLA@x.no", "900 11 222"], ["Kari", "H", "kari@y.no", ""]])
    s = run_import(f, db, {"person": {"match": "email", "if_no_company": "create_company"}})
    assert (s["person"]["updated"], s["person"]["new"], s["company"]["new"]) == (1, 1, 1)
    assert table(db, "SELECT company_id FROM person WHERE person_id = 1").item() == 1
    assert sorted(n for (n,) in table(db, "SELECT name FROM company").rows()) == ["ACME", "Kari H"]
