"""The policy as pure functions (SPEC §3): validated rows and a CRM snapshot written as dict
literals, the plan compared frame by frame. No store, no file: what the end-to-end tests in
test_policy.py check through the CLI, here without I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from contracts.errors import MissingMatchColumn
from contracts.keys import MATCH_KEYS, key_names
from contracts.settings import ImportSettings, parse_settings
from transforms import keys as k
from transforms.chunks import tie_keys
from transforms.plan import CrmSnapshot, plan_contacts
from transforms.plan.model import EXISTING_SCHEMA, KEYS_SCHEMA

HEADERS = {"company_name": "Company", "company_street": "Address",
           "person_first_name": "First name", "person_last_name": "Last name",
           "person_email": "E-mail"}


def rows(data: dict[str, list]) -> pl.DataFrame:
    """Validated canonical rows (source_row from 2, as under a header row)."""
    n = len(next(iter(data.values())))
    frame = pl.DataFrame({"source_row": list(range(2, n + 2)), **data},
                         schema_overrides={c: pl.String for c in data})
    if "person_email" in frame.columns:  # the validated key (transforms.validate)
        frame = frame.with_columns(pl.col("person_email").str.to_lowercase()
                                   .alias("person_email__key"))
    return frame


def crm(*, companies: list[dict] = (), persons: list[dict] = (), emails: list[dict] = ()
        ) -> CrmSnapshot:
    """A snapshot as `read_snapshot` gives it, for name-matched companies and the settings'
    person keys (name within company, e-mail), named (`keys.named`)."""
    snap = CrmSnapshot.empty()
    comp = pl.DataFrame(list(companies), schema={"crm_id": pl.Int64, "name": pl.String,
                                                 "street": pl.String})
    pers = pl.DataFrame(list(persons), schema={"crm_id": pl.Int64, "company_id": pl.Int64,
                                               "first_name": pl.String, "last_name": pl.String,
                                               "birth_date": pl.Date})
    company_keys = comp.select("crm_id", pl.lit("any").alias("scope"),
                               k.named(k.match_key("company", "name"),
                                       k.crm_key(k.match_key("company", "name"))).alias("key"))
    name_keys = pers.select("crm_id", pl.col("company_id").cast(pl.String).fill_null("none")
                            .alias("scope"),
                            k.named(k.match_key("person", "name"),
                                    k.crm_key(k.match_key("person", "name"))).alias("key"))
    mail = pl.DataFrame(list(emails), schema={"crm_id": pl.Int64, "address": pl.String})
    email_keys = mail.select("crm_id", pl.lit("any").alias("scope"),
                             k.named(k.match_key("person", "email"),
                                     k.crm_key(k.match_key("person", "email"))).alias("key"))
    values = mail.select(pl.lit("person").alias("owner_kind"), "crm_id",
                         pl.lit("email").alias("table"), pl.col("crm_id").alias("value_id"),
                         pl.lit(None, pl.String).alias("kind"), pl.col("address").alias("value"),
                         pl.col("address").str.to_lowercase().alias("key"),
                         pl.lit(None, pl.String).alias("e164"), pl.lit(1, pl.Int64).alias("rank"))
    return replace(snap, companies=comp, persons=pers, values=values.cast(EXISTING_SCHEMA),
                   company_keys=company_keys.cast(KEYS_SCHEMA),
                   person_keys=pl.concat([name_keys, email_keys]).cast(KEYS_SCHEMA))


def plan(frame: pl.DataFrame, snapshot: CrmSnapshot, settings: dict | None = None):
    return plan_contacts(frame, snapshot, settings=parse_settings(settings or {}),
                         headers=HEADERS,
                         has_company=any(c.startswith("company_") for c in frame.columns),
                         has_person=any(c.startswith("person_") for c in frame.columns))


def outcomes(p, entity: str) -> pl.DataFrame:
    return (p.row_plan.filter(pl.col("entity") == entity)
            .select("source_row", "outcome", "crm_id").sort("source_row"))


# --- every action × CRM field empty/filled × import cell empty/filled (SPEC §3 table) ---------

ACTION_TABLE = {
    # (action, crm street, import street): (outcome, the street change or None)
    ("merge", None, None): ("unchanged", None),
    ("merge", None, "Broadway 123"): ("updated", (None, "Broadway 123")),
    ("merge", "Main street 456", None): ("unchanged", None),
    ("merge", "Main street 456", "Broadway 123"): ("unchanged", None),
    ("replace", None, None): ("unchanged", None),
    ("replace", None, "Broadway 123"): ("updated", (None, "Broadway 123")),
    ("replace", "Main street 456", None): ("unchanged", None),
    ("replace", "Main street 456", "Broadway 123"): ("updated", ("Main street 456",
                                                                 "Broadway 123")),
    ("skip", None, "Broadway 123"): ("skipped", None),
    ("skip", "Main street 456", "Broadway 123"): ("skipped", None),
    ("add", "Main street 456", "Broadway 123"): ("new", None),
}


@pytest.mark.parametrize(("action", "crm_street", "file_street"), list(ACTION_TABLE))
def test_action_field_table(action, crm_street, file_street):
    snap = crm(companies=[{"crm_id": 1, "name": "ACME Inc.", "street": crm_street}])
    p = plan(rows({"company_name": ["ACME Inc."], "company_street": [file_street]}), snap,
             {"company": {"action": action}, "person": {"match": "none"}})
    outcome, change = ACTION_TABLE[(action, crm_street, file_street)]
    assert_frame_equal(outcomes(p, "company"), pl.DataFrame(
        {"source_row": [2], "outcome": [outcome],
         "crm_id": [None if action == "add" else 1]},
        schema={"source_row": pl.Int64, "outcome": pl.String, "crm_id": pl.Int64}))
    expected = pl.DataFrame(
        [{"crm_id": 1, "field": "street", "old_value": change[0], "new_value": change[1]}]
        if change else [],
        schema={"crm_id": pl.Int64, "field": pl.String, "old_value": pl.String,
                "new_value": pl.String})
    assert_frame_equal(p.company.changes.select(expected.columns), expected)


def test_protected_field_keeps_its_value_under_replace():
    snap = crm(companies=[{"crm_id": 1, "name": "ACME Inc.", "street": "Main street 456"}])
    p = plan(rows({"company_name": ["ACME Inc."], "company_street": ["Broadway 123"]}), snap,
             {"company": {"action": "replace", "protect": ["street"]},
              "person": {"match": "none"}})
    assert p.company.changes.height == 0
    assert outcomes(p, "company")["outcome"].to_list() == ["unchanged"]


def test_a_name_is_a_person_within_its_company():
    """The same name at another company is another person; at the same one, the same."""
    snap = crm(companies=[{"crm_id": 1, "name": "ACME"}, {"crm_id": 2, "name": "Other"}],
               persons=[{"crm_id": 10, "company_id": 1, "first_name": "Ann",
                         "last_name": "Berg"}])
    p = plan(rows({"company_name": ["ACME", "Other", None],
                   "person_first_name": ["ann", "Ann", "Ann"],
                   "person_last_name": ["BERG", "Berg", "Berg"]}), snap,
             {"person": {"if_no_company": "without_company"}})
    assert_frame_equal(outcomes(p, "person"), pl.DataFrame(
        {"source_row": [2, 3, 4], "outcome": ["unchanged", "new", "new"],
         "crm_id": [10, None, None]},
        schema={"source_row": pl.Int64, "outcome": pl.String, "crm_id": pl.Int64}))


def test_a_key_finding_two_records_is_ambiguous_and_its_persons_wait():
    snap = crm(companies=[{"crm_id": 1, "name": "ACME"}, {"crm_id": 2, "name": "acme"}])
    p = plan(rows({"company_name": ["ACME"], "person_first_name": ["Ann"],
                   "person_last_name": ["Berg"]}), snap)
    company = p.company.decisions.select("outcome", "reason").row(0)
    assert company == ("ambiguous", "matches several CRM records: 1, 2")
    person = p.person.decisions.select("outcome", "reason").row(0)
    assert person == ("skipped", "its company is ambiguous")


def test_rows_sharing_a_key_are_one_entity_first_value_wins():
    p = plan(rows({"company_name": ["ACME", "Acme", "Beta"],
                   "company_street": [None, "Broadway 1", "Elm 2"]}), CrmSnapshot.empty(),
             {"person": {"match": "none"}})
    assert p.company.counts()["new"] == 2
    assert_frame_equal(p.company.decisions.select("first_row", "company_name", "company_street"),
                       pl.DataFrame({"first_row": [2, 4], "company_name": ["ACME", "Beta"],
                                     "company_street": ["Broadway 1", "Elm 2"]}))


def test_create_company_names_the_company_after_the_person():
    p = plan(rows({"person_first_name": ["Ann", None], "person_last_name": ["Berg", None],
                   "person_email": [None, "x@example.com"]}), CrmSnapshot.empty())
    names = p.company.decisions.sort("first_row")["company_name"].to_list()
    # a person with no name never gets a company named after an e-mail address (issue 17 §3)
    assert names == ["Ann Berg"]
    assert p.person_company.sort("group")["company_group"].null_count() == 1
    made = p.warnings.filter(pl.col("code") == "no_company_made")
    assert made.select("source_row", "value").rows() == [(3, "x@example.com")]


def test_a_person_known_by_a_global_key_keeps_its_company():
    """create_company makes no company for a person the CRM finds by e-mail."""
    snap = crm(companies=[{"crm_id": 1, "name": "ACME"}],
               persons=[{"crm_id": 10, "company_id": 1, "first_name": "Ann",
                         "last_name": "Berg"}],
               emails=[{"crm_id": 10, "address": "Ann@Example.com"}])
    p = plan(rows({"person_first_name": ["Ann"], "person_last_name": ["Berg"],
                   "person_email": ["ann@example.com"]}), snap, {"person": {"match": "email"}})
    assert p.company.decisions.height == 0
    assert outcomes(p, "person").row(0) == (2, "unchanged", 10)


# --- a birth date tells two persons of one name apart (README "Matching") ----------------------

ACME_BERGS = [{"crm_id": 1, "name": "ACME"}]


def berg(crm_id: int, born: str | None) -> dict:
    return {"crm_id": crm_id, "company_id": 1, "first_name": "Ann", "last_name": "Berg",
            "birth_date": None if born is None else date.fromisoformat(born)}


def bergs(*born: str | None) -> pl.DataFrame:
    """Rows of Ann Berg at ACME, born as given (validated: ISO dates)."""
    return rows({"company_name": ["ACME"] * len(born), "person_first_name": ["Ann"] * len(born),
                 "person_last_name": ["Berg"] * len(born), "person_birth_date": list(born)})


def test_rows_of_one_name_born_on_different_days_are_two_persons():
    p = plan(bergs("1980-01-01", "1990-02-02", None, "1980-01-01"), CrmSnapshot.empty())
    # the row without a birth date cannot say which of the two it is: a person of its own
    assert outcomes(p, "person")["outcome"].to_list() == ["new"] * 4
    assert p.person.counts()["new"] == 3
    groups = p.person.rows.sort("source_row")["group"].to_list()
    assert groups[0] == groups[3] and len(set(groups)) == 3
    assert p.warnings.filter(pl.col("field") == "person_birth_date").height == 0
    # with one birth date among them, a row without one is that person
    assert plan(bergs("1980-01-01", None), CrmSnapshot.empty()).person.counts()["new"] == 1


@pytest.mark.parametrize(("crm_born", "file_born", "outcome", "found"), [
    (["1980-01-01", "1990-02-02"], "1990-02-02", "unchanged", 11),  # the name finds two
    (["1980-01-01"], "1975-05-05", "new", None),  # another person of that name
    (["1980-01-01", None], None, "unchanged", 11),  # neither has one: the one made before
    (["1980-01-01", None], "1980-01-01", "unchanged", 10),
    ([None], "1975-05-05", "updated", 10),  # a record without one may be them: merge fills it
    (["1980-01-01", "1990-02-02"], None, "ambiguous", None),  # nothing tells which
])
def test_a_birth_date_tells_crm_persons_of_one_name_apart(crm_born, file_born, outcome, found):
    snap = crm(companies=ACME_BERGS,
               persons=[berg(10 + i, born) for i, born in enumerate(crm_born)])
    got = outcomes(plan(bergs(file_born), snap), "person").row(0)
    assert got[1:] == (outcome, found)


def test_a_persons_birth_date_is_one_for_all_its_rows():
    """Two rows one person by e-mail, one without a date: that row's name never finds the
    namesake the person's date rules out."""
    snap = crm(companies=ACME_BERGS, persons=[berg(10, "1980-01-01")])
    frame = bergs("1975-05-05", None).with_columns(
        pl.lit("ann@example.com").alias("person_email"),
        pl.lit("ann@example.com").alias("person_email__key"))
    got = outcomes(plan(frame, snap, {"person": {"match": ["email", "name"]}}), "person")
    assert got.rows() == [(2, "new", None), (3, "new", None)]


def test_a_birth_date_does_not_tell_apart_what_an_email_finds():
    """Only the name is told apart: an e-mail address is the person, whatever the date."""
    snap = crm(companies=ACME_BERGS, persons=[berg(10, "1980-01-01")],
               emails=[{"crm_id": 10, "address": "ann@example.com"}])
    frame = bergs("1975-05-05").with_columns(pl.lit("ann@example.com").alias("person_email"),
                                             pl.lit("ann@example.com").alias("person_email__key"))
    for chain in ("email", ["email", "name"]):
        got = outcomes(plan(frame, snap, {"person": {"match": chain}}), "person").row(0)
        assert got[1:] == ("unchanged", 10)  # (merge keeps the CRM's date)


def test_a_missing_key_column_is_an_error_before_anything():
    with pytest.raises(MissingMatchColumn):
        plan(rows({"company_name": ["ACME"]}), CrmSnapshot.empty(), {"company": {"match": "vat"}})


# --- the key table is the one list --------------------------------------------------------------

def test_settings_allow_exactly_the_keys_of_the_table():
    for entity in ("company", "person", "product"):
        for name in key_names(entity):
            parse_settings({entity: {"match": name}})
    allowed = {e: set(key_names(e)) for e in ("company", "person", "product")}
    assert allowed["company"] == {"name", "name+department", "number", "code", "vat", "id",
                                  "orgnr"}
    assert allowed["person"] == {"name", "email", "mobile", "number", "id", "none"}


@pytest.mark.parametrize("key", [key for key in MATCH_KEYS if key.crm is not None],
                         ids=lambda key: f"{key.entity}:{key.name}")
def test_file_and_crm_sides_of_a_key_agree(key):
    """A value spelt loosely in the file finds the value as the CRM stores it."""
    stored = {"text": "ACME  Norge", "text_with": "ACME  Norge", "text_both": "ACME",
              "digits": "NO 923 609 016 MVA", "id": "42", "person_name": "Ann Berg",
              "email": "ann@example.com", "phone": "+4791234567"}[key.normaliser]
    crm_side = pl.DataFrame({c: [stored if i == 0 or key.normaliser != "person_name"
                                 else None] for i, c in enumerate(key.crm.columns)})
    if key.normaliser == "person_name":
        crm_side = pl.DataFrame({"first_name": ["Ann"], "last_name": ["Berg"]})
    file_value = {"text": "acme norge", "text_with": "acme norge ", "text_both": "Acme",
                  "digits": "923609016", "id": " 42 ", "person_name": None,
                  "email": "ann@example.com", "phone": "+4791234567"}[key.normaliser]
    data = {c: [file_value] for c in key.columns}
    if key.normaliser == "person_name":
        data = {"person_first_name": ["ANN"], "person_last_name": ["berg"]}
    if key.normaliser in ("email", "phone"):
        data[f"{key.columns[0]}__key"] = [stored]
    file_side = pl.DataFrame(data, schema={c: pl.String for c in data})
    got_file = file_side.select(k.file_key(key, set(file_side.columns))).item()
    got_crm = crm_side.select(k.crm_key(key)).item()
    assert got_file is not None and got_file == got_crm


def test_chunk_ties_use_the_plans_keys():
    """A chunk ties rows by the key the plan groups them by: same company key, same person
    key within it (SPEC §3); a settings change of key changes both."""
    frame = rows({"company_name": ["ACME", "acme ", "Beta"],
                  "person_first_name": ["Ann", "ann", "Ann"],
                  "person_last_name": ["Berg", "Berg", "Berg"]})
    ties = tie_keys(frame, ImportSettings())
    assert ties["t0"].to_list()[0] == ties["t0"].to_list()[1] != ties["t0"].to_list()[2]
    p = plan(frame, CrmSnapshot.empty())
    assert p.person.counts()["new"] == 2
