"""Possible duplicates (issue 20): the scorer on hand-made pairs, and `crm-import
duplicates` on both stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO, seed
from transforms.duplicates import (
    COMPANY,
    PERSON,
    company_frame,
    person_frame,
    person_values,
    score_pairs,
    term,
    with_tf,
)

CLI = [str(Path(sys.executable).parent / "crm-import")]

PERSONS = [  # (id, first, last, born, street, postcode, city)
    (1, "Jonn", "Hansen", "1971-04-02", "Storgata 5", "0150", "Oslo"),
    (2, "Jon", "Hansen", "1971-04-02", "Storgata 5", "0150", "Oslo"),  # a typo
    (3, "Hansen", "Jon", "1971-04-02", None, "0150", "Oslo"),  # swapped names
    (4, "Kari", "Nordmann", "1980-12-24", "Fjordveien 2", "5003", "Bergen"),
    (5, "Kari", "Nordmann", "1956-03-01", "Bakken 9", "9008", "Tromsø"),  # another Kari
    (6, "Ingrid", "Hansen", "1975-08-30", "Storgata 5", "0150", "Oslo"),  # his wife
    (7, "Ola", "Ødegård", "1990-01-15", "Kirkeveien 10", "7011", "Trondheim"),
    (8, "Ola", "Odegard", "1990-01-15", "Kirkeveien 10", "7011", "Trondheim"),  # no ø
]


def persons() -> pl.DataFrame:
    return pl.DataFrame(PERSONS, schema=["id", "first_name", "last_name", "birth_date",
                                         "street", "postcode", "city"], orient="row"
                        ).with_columns(pl.col("birth_date").str.to_date())


def test_typos_swaps_and_letters_are_found_and_a_namesake_or_a_wife_is_not():
    pairs = score_pairs(person_frame(persons()), PERSON, min_score=0.9)
    found = set(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True))
    assert found == {(1, 2), (1, 3), (2, 3), (7, 8)}
    evidence = json.loads(pairs.filter((pl.col("a") == 1) & (pl.col("b") == 3))["evidence"][0])
    assert evidence["first_name"].startswith("swapped") and evidence["birth_date"] == "exact"
    assert pairs["score"].is_sorted(descending=True)
    assert pairs["score"].min() >= 0.9 and pairs["score"].max() <= 1.0


@pytest.mark.parametrize("swapped_first", [True, False])
def test_swapped_names_are_as_common_as_the_names_whichever_record_is_first(swapped_first):
    """"Moen Ingrid" against "Ingrid Moen" of another birth date and town, in a CRM where
    both names are common: no one is named Moen first, but a swap of two common names is
    no rarer than the names (it scored 0.9996 when the swapped record came first)."""
    crowd = pl.DataFrame({"id": range(10, 1010),
                          "first_name": [f"Ingrid{i % 20}" if i % 20 else "Ingrid"
                                         for i in range(1000)],
                          "last_name": [f"Moen{i % 50}" if i % 50 else "Moen"
                                        for i in range(1000)],
                          "postcode": [f"{i % 8}000" for i in range(1000)]})
    swapped = {"first_name": "Moen", "last_name": "Ingrid", "birth_date": None,
               "street": "Kirkeveien 108", "postcode": "2317", "city": "Hamar"}
    straight = {"first_name": "Ingrid", "last_name": "Moen", "birth_date": "1952-06-26",
                "street": "Kirkeveien 59", "postcode": "7011", "city": "Trondheim"}
    first, second = (swapped, straight) if swapped_first else (straight, swapped)
    pair = pl.DataFrame([{"id": 1, **first}, {"id": 2, **second}]).with_columns(
        pl.col("birth_date").cast(pl.String).str.to_date())
    frame = person_frame(pl.concat([pair, crowd], how="diagonal_relaxed"))
    scores = score_pairs(frame, PERSON, min_score=0.0).filter(pl.col("a") == 1, pl.col("b") == 2)
    assert json.loads(scores["evidence"][0])["first_name"] == "swapped with last"
    assert scores["score"][0] < 0.9
    # the same two, where they live alike: one person
    alike = pair.with_columns(pl.lit("Kirkeveien 59").alias("street"),
                              pl.lit("7011").alias("postcode"), pl.lit("Trondheim").alias("city"))
    frame = person_frame(pl.concat([alike, crowd], how="diagonal_relaxed"))
    scores = score_pairs(frame, PERSON, min_score=0.0).filter(pl.col("a") == 1, pl.col("b") == 2)
    assert scores["score"][0] >= 0.9


@pytest.mark.parametrize(("name", "likely"), [("Bryce", True), ("Thomas", False)])
def test_one_name_as_the_others_other_name_is_weighed_by_how_common_that_is(name, likely):
    """"Bryce Dixon" and "Reece Bryce" of one postcode, born ten days apart: one person
    whose names were swapped and one of them mistyped or replaced (FEBRL's sets hold
    hundreds; both names "different" before) — but not "Thomas Dixon" and "Reece Thomas",
    where one in ten is named Thomas last."""
    crowd = pl.DataFrame({"id": range(10, 1010),
                          "first_name": [f"F{i % 97}" for i in range(1000)],
                          "last_name": ["Thomas" if i % 10 == 0 else f"L{i % 89}"
                                        for i in range(1000)]})
    pair = pl.DataFrame([
        {"id": 1, "first_name": name, "last_name": "Dixon", "birth_date": "1961-03-14",
         "street": "178 Graves Place", "postcode": "2615"},
        {"id": 2, "first_name": "Reece", "last_name": name, "birth_date": "1961-03-24",
         "street": "12 Kirk Street", "postcode": "2615"}]).with_columns(
        pl.col("birth_date").str.to_date())
    frame = person_frame(pl.concat([pair, crowd], how="diagonal_relaxed"))
    scores = score_pairs(frame, PERSON, min_score=0.0, only=pl.Series([1, 2]))
    pair_score = scores.filter(pl.col("a") == 1, pl.col("b") == 2)
    evidence = json.loads(pair_score["evidence"][0])
    # (one piece of evidence: the last names' comparison says the same, weighing nothing)
    assert evidence["first_name"] == evidence["last_name"] == "one name swapped"
    assert (pair_score["score"][0] >= 0.9) is likely, pair_score["score"][0]


@pytest.mark.parametrize(("records", "likely"), [(2_000, True), (200_000, False)])
def test_a_shared_name_says_less_the_more_records_it_is_shared_among(records, likely):
    """Two records of one name (1 first name in 199, 1 last name in 301) in one city (1 in
    8), nothing else known: likely one person in a CRM of 2,000, where 0.004 others bear
    the name in that city — not in one of 200,000, where 0.4 do. The names' shares are the
    same in both; only the prior knows how many records there are (a fixed prior scored
    the pair 0.997 and 0.998)."""
    crowd = pl.DataFrame({"id": pl.int_range(3, records + 1, eager=True)}).with_columns(
        # (of the 199 × 301 × 8 name and city triples, each once before the next repeats)
        pl.format("f{}", pl.col("id") % 199).alias("first_name"),
        pl.format("l{}", pl.col("id") % 301).alias("last_name"),
        pl.format("c{}", pl.col("id") % 8).alias("city"))
    pair = pl.DataFrame({"id": [1, 2], "first_name": ["f1", "f1"], "last_name": ["l1", "l1"],
                         "city": ["c1", "c1"]})
    frame = person_frame(pl.concat([pair, crowd]))
    scores = score_pairs(frame, PERSON, min_score=0.0, only=pl.Series([1, 2]))
    score = scores.filter(pl.col("a") == 1, pl.col("b") == 2)["score"].item()
    assert (score >= 0.9) is likely, score


def test_legal_forms_and_word_order_do_not_hide_a_company_but_org_numbers_tell_apart():
    companies = pl.DataFrame({
        "id": [1, 2, 3, 4, 5, 6, 7],
        "name": ["ACME AS", "Acme A/S", "ACME Norge AS", "Fjord Regnskap", "Regnskap Fjord AS",
                 "Berg Bygg AS", "Berg Bygg AS"],
        "orgnr": [None, None, None, None, None, "923609016", "NO 987 654 321 MVA"],
        "postcode": ["0150", "0150", "0150", "5003", "5003", "7011", "7011"]})
    pairs = score_pairs(company_frame(companies), COMPANY, min_score=0.9)
    found = set(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True))
    assert {(1, 2), (1, 3), (2, 3), (4, 5)} <= found
    assert (6, 7) not in found  # one name, two org numbers: two companies


def test_the_phonetic_key_makes_like_sounds_and_doubles_one():
    from transforms.duplicates import sound

    names = {"philipsen": "plps", "kristiansen": "krst", "christiansen": "crst",
             "schmidt": "skmt", "jonsson": "jnsn", "hanssen": "hnsn", "hansen": "hnsn",
             "lill": "ll", "abbccdd": "apkt", "mcmillan": "mkml", "": ""}
    keys = pl.DataFrame({"name": list(names)}).select(sound(pl.col("name")))
    assert dict(zip(names, keys.to_series().to_list(), strict=True)) == names


@pytest.mark.parametrize(("written", "short"), [
    ("3001 W. 59th Street", "3001 W 59th St"),
    ("2141 South Tan Court 1st Floor", "2141 S Tan Ct"),
    ("Suite 200, 5 Main Street", "5 Main St."),
    ("Storgata 5", "Storgt. 5"), ("Storgaten 5", "Storgt 5"), ("Vestre gate 3", "Vestre gt. 3"),
    ("Kirkeveien 10", "Kirkevn. 10"), ("Hauptstraße 3", "Hauptstr. 3"),
])
def test_a_street_written_out_or_cut_short_is_one_street(written, short):
    from transforms.duplicates import fold, street_key

    keys = pl.DataFrame({"s": [written, short]}).select(street_key(fold(pl.col("s"))))
    assert keys.n_unique() == 1 and keys.item(0, 0)


def test_one_site_written_two_ways_is_found_and_sites_of_one_agency_are_not():
    """Chicago's early-childhood sites: an agency's family child-care homes share its name's
    start and its switchboard, in one postcode or another — each is a site of its own; one
    site written by two files ("W. 59th Street" and "W 59th St", a zip code in one) is one."""
    sites = pl.DataFrame({
        "id": [1, 2, 3, 4, 5],
        "name": ["Erie Neighborhood House FCCH-Maria Mahecha Site",
                 "Erie Neighborhood House FCCH-Silveria Cruz Site",
                 "Erie Neighborhood House FCCH-Iraida Garriga Site",
                 "Catholic Charities Chicago Lawn", "Catholic Charities - Chicago Lawn"],
        "street": ["4151 W Lawrence", "1656 N Springfield", "2523 N Parkside",
                   "3001 W. 59th Street", "3001 W 59th St"],
        "postcode": ["60630", "60630", "60639", "60629", None],
        "phone": ["4322213", "4322213", "4322213", "9251085", "9251085"]})
    pairs = score_pairs(company_frame(sites), COMPANY, min_score=0.9)
    assert set(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True)) == {(4, 5)}
    assert json.loads(pairs["evidence"][0])["address"] == "same street and number"


def test_pairs_involving_some_records_only():
    pairs = score_pairs(person_frame(persons()), PERSON, min_score=0.9,
                        only=pl.Series([8]))
    assert set(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True)) == {(7, 8)}


def test_term_frequencies_counted_apart_score_as_the_frames_own(tmp_path):
    # (a run's suggestions count them over the whole run — its new records and the CRM's
    # near them, in files — and the scorer joins them in)
    from transforms.duplicates import Suggester

    values = person_values(persons())
    new, crm = str(tmp_path / "new.parquet"), str(tmp_path / "crm.parquet")
    values.head(5).write_parquet(new)
    values.tail(3).write_parquet(crm)
    _, tf = Suggester._counted(PERSON, [new], [crm], values.height, spill=str(tmp_path))
    assert [t.columns[1] for t in tf] == [f"{term(c, among)}_tf" for c, among in PERSON.tf_terms]
    own = score_pairs(with_tf(values, PERSON, values.height), PERSON, min_score=0.0)
    apart = score_pairs(values, PERSON, min_score=0.0, tf=tf)
    assert own.height == 7 and apart.equals(own)
    rarer = [t.with_columns(pl.col(t.columns[1]) / 10) for t in tf]
    assert not score_pairs(values, PERSON, min_score=0.0, tf=rarer)["score"].equals(own["score"])


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.both_stores
def test_the_duplicates_command_lists_pairs_and_writes_a_review(db, tmp_path):
    seed(db, persons=[{"person_id": i, "first_name": f, "last_name": la, "birth_date": b,
                       "street": s, "postcode": p, "city": c}
                      for i, f, la, b, s, p, c in PERSONS],
         emails=[{"email_id": 1, "owner_kind": "person", "owner_id": 4,
                  "address": "kari@fjord.no", "rank": 1},
                 {"email_id": 2, "owner_kind": "person", "owner_id": 5,
                  "address": "kari@fjord.no", "rank": 1}])
    said = json.loads(cli("duplicates", "--entity", "person", "--json", "--db", str(db)).stdout)
    assert said["entity"] == "person"
    listed = [(p["a"], p["b"]) for p in said["pairs"]]
    assert set(listed) == {(1, 2), (1, 3), (2, 3), (7, 8), (4, 5)}  # (4, 5): one e-mail
    assert all(p["a"] < p["b"] and 0.9 <= p["score"] <= 1 for p in said["pairs"])
    assert [p["score"] for p in said["pairs"]] == sorted((p["score"] for p in said["pairs"]),
                                                         reverse=True)
    kari = next(p for p in said["pairs"] if (p["a"], p["b"]) == (4, 5))
    assert kari["evidence"]["email"] == "exact"
    review = tmp_path / "review.xlsx"
    text = cli("duplicates", "-o", str(review), "--db", str(db)).stdout
    assert "5 likely duplicate pairs of persons" in text and "review.xlsx" in text
    sheet = pl.read_excel(review)
    assert sheet.columns[:6] == ["action", "keep", "entity", "score", "a", "b"]
    assert {"a_first_name", "b_first_name", "evidence"} <= set(sheet.columns)
    assert sheet.height == 5 and sheet["action"].is_null().all()
    high = json.loads(cli("duplicates", "--min-score", "0.99999", "--json", "--db",
                          str(db)).stdout)
    assert len(high["pairs"]) < 5


@pytest.mark.both_stores
def test_an_import_suggests_duplicates_of_what_it_creates_and_applies_none(db, tmp_path):
    from tests.conftest import run_import, table, table_hashes, write_csv

    seed(db, persons=[{"person_id": 1, "first_name": "Jon", "last_name": "Hansen",
                       "birth_date": "1971-04-02", "street": "Storgata 5", "postcode": "0150",
                       "city": "Oslo"}])
    file = tmp_path / "new.csv"
    write_csv(file, ["First name", "Last name", "Birth date", "Street", "Postcode", "City"], [
        ["Jonn", "Hansen", "1971-04-02", "Storgata 5", "0150", "Oslo"],  # the CRM's Jon
        ["Kari", "Nordmann", "1980-12-24", "Fjordveien 2", "5003", "Bergen"],
        ["Karin", "Nordmann", "1980-12-24", "Fjordveien 2", "5003", "Bergen"],  # row 3's
        ["Per", "Olsen", "1990-05-05", "Bakken 1", "7011", "Trondheim"]])
    before = table_hashes(db)
    preview = run_import(file, db, dry_run=True)
    assert preview["suggestions"] == {"company": 0, "person": 2}
    assert table_hashes(db) == before
    staged = table(db, "SELECT source_row, entity, crm_id, candidate_id, candidate_row, score "
                       "FROM staging.suggestions WHERE run_id = ? ORDER BY source_row",
                   [preview["run_id"]]).rows()
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in staged] == [
        (2, "person", None, 1, None), (4, "person", None, None, 3)]
    assert all(r[5] >= 0.9 for r in staged)
    done = run_import(file, db)
    assert done["suggestions"] == {"company": 0, "person": 2}
    assert done["person"]["new"] == 4  # (suggested, not applied: four new persons)
    ids = dict(table(db, "SELECT source_row, crm_id FROM staging.plan WHERE run_id = ? AND "
                         "entity = 'person'", [done["run_id"]]).rows())
    staged = table(db, "SELECT source_row, crm_id, candidate_id FROM staging.suggestions "
                       "WHERE run_id = ? ORDER BY source_row", [done["run_id"]]).rows()
    assert staged == [(2, ids[2], 1), (4, ids[4], ids[3])]
    off = run_import(file, db, settings={"duplicates": {"suggest": False}}, dry_run=True)
    assert "suggestions" not in off


@pytest.mark.both_stores
def test_a_run_reads_the_crm_records_that_share_a_plain_value_with_its_new_ones(
        db, monkeypatch):
    """The CRM records a run's new ones can pair with: those sharing a postcode, a birth
    date, a name (first or last, either way), a company, an e-mail or a phone of any rank
    (persons), a first word of the name or an org number (companies), spelled alike — and
    only records the CRM had before the run. Looked up in the CRM, or in its values read
    and hashed once in slices of ids (2 here), alike."""
    from flows.config import open_crm
    from transforms import duplicates

    seed(db, companies=[{"company_id": 1, "name": "ACME Norge AS"},
                        {"company_id": 2, "name": "Fjord Fisk", "orgnr": "987 654 321"},
                        {"company_id": 3, "name": "Berg Bygg"}],
         persons=[{"person_id": 1, "first_name": "Kari", "last_name": "Nordmann",
                   "postcode": "0150"},
                  {"person_id": 2, "first_name": "Ola", "last_name": "Hansen"},
                  {"person_id": 3, "first_name": "Per", "last_name": "Berg"},
                  {"person_id": 4, "first_name": "Eva", "last_name": "Lie"},
                  {"person_id": 5, "first_name": "Ida", "last_name": "Moe",
                   "birth_date": "1971-04-02"},
                  {"person_id": 6, "first_name": "Tor", "last_name": "Dal", "company_id": 3},
                  {"person_id": 7, "first_name": "Ann", "last_name": "Vik", "postcode": "9999"},
                  {"person_id": 8, "first_name": "Siv", "last_name": "Ask", "postcode": "0150"}],
         emails=[{"email_id": 1, "owner_kind": "person", "owner_id": 3, "address": "p@x.no",
                  "rank": 1},
                 {"email_id": 2, "owner_kind": "person", "owner_id": 3,
                  "address": "Per@Berg.NO", "rank": 2}],
         phones=[{"phone_id": 1, "owner_kind": "person", "owner_id": 4, "kind": "mobile",
                  "number": "410 00 000", "number_e164": "+4741000000", "rank": 1}])
    monkeypatch.setattr(duplicates, "NEAR_SLICE", 2)
    new_persons = pl.DataFrame({
        "id": [-1, -2, -3, -4, -5, -6, -7],
        "first_name": ["Anna", " HANSEN ", "Jo", "Liv", "Mia", "Åse", "Une"],
        "last_name": ["Li", "Nilsen", "Bø", "Rud", "Hol", "Sand", "Tveit"],
        "postcode": ["01 50", None, None, None, None, None, "1234"],
        "birth_date": [None, None, None, None, "1971-04-02", None, None],
        "company_id": [None, None, None, None, None, 3, None],
        "email": [None, None, "per@berg.no", None, None, None, None],
        "phone": [None, None, None, "+4741000000", None, None, None]})
    new_companies = pl.DataFrame({"id": [-1, -2, -3], "name": [" Acme Sverige AB", "Fisk AS",
                                                                "Nord"],
                                  "orgnr": [None, "987654321", "123"]})
    found = {}
    # looked up in the CRM (a run in one piece), or in its values hashed once (in chunks)
    for lookups in (1, duplicates.NEAR_LOOKUPS + 1):
        with open_crm(str(db)) as store:
            suggester = duplicates.Suggester(store, min_score=0.9, lookups=lookups)
            try:
                # (the CRM before the run: person 8 was made by it)
                suggester._before.update(person=(1, 7, 7), company=(1, 3, 3))
                persons = suggester._near("person", new_persons).to_list()
                companies = suggester._near("company", new_companies).to_list()
                hashed = len(suggester._files["keys"]["person"])
                nothing = suggester._near("person", new_persons.filter(pl.col("id") == -7))
            finally:
                suggester.close()
        found[lookups] = persons, companies, hashed, nothing.to_list()
    assert found[1][2] == 0  # (nothing hashed: one lookup)
    assert found[duplicates.NEAR_LOOKUPS + 1][2] == 4  # (ids 1–2, 3–4, 5–6, 7)
    # postcode 1; name 2 (a first name as a last); e-mail of rank 2: 3; phone 4; born 5;
    # company 6 — not 7 (nothing shared) nor 8 (the run's own)
    for persons, companies, _, nothing in found.values():
        assert persons == [1, 2, 3, 4, 5, 6]
        assert companies == [1, 2]  # (the first word; the org number's digits)
        assert nothing == []


@pytest.mark.both_stores
def test_merging_a_review_and_undoing_it(db, tmp_path):
    """(issue 20 §3) Two pairs merged, one kept apart; the survivor keeps its fields and
    gets the other's empty ones, values unioned, persons and selection places moved; the
    undo puts both records back exactly."""
    from tests.conftest import table, table_hashes
    from transforms.export import write_table

    seed(db, companies=[{"company_id": 1, "name": "ACME AS", "postcode": "0150",
                         "city": "Oslo"},
                        {"company_id": 2, "name": "Acme A/S", "postcode": "0150",
                         "city": "Oslo", "orgnr": "923609016"}],
         persons=[{"person_id": i, "first_name": f, "last_name": la, "birth_date": b,
                   "street": s, "postcode": p, "city": c, "company_id": 2 if i == 7 else None}
                  for i, f, la, b, s, p, c in PERSONS],
         emails=[{"email_id": 1, "owner_kind": "person", "owner_id": 1,
                  "address": "jon@hansen.no", "rank": 1},
                 {"email_id": 2, "owner_kind": "person", "owner_id": 2,
                  "address": "JON@hansen.no", "rank": 1},
                 {"email_id": 3, "owner_kind": "person", "owner_id": 2,
                  "address": "jon@jobb.no", "rank": 2}],
         phones=[{"phone_id": 1, "owner_kind": "company", "owner_id": 2, "kind": "phone",
                  "number": "22 33 44 55", "number_e164": "+4722334455", "rank": 1}])
    with __import__("flows.config", fromlist=["open_crm"]).open_crm(str(db)) as store:
        store.execute("UPDATE person SET street = NULL WHERE person_id = 1")  # (filled by 2)
        store.execute("INSERT INTO selection (selection_id, run_id, kind, name) VALUES "
                      "('s1', 'r0', 'new', 'kunder')")
        store.execute("INSERT INTO selection_member VALUES ('s1', 'person', 2), "
                      "('s1', 'company', 2)")
    before = table_hashes(db)
    members = table(db, "SELECT * FROM selection_member ORDER BY 1, 2, 3").rows()

    def review(entity: str, marks: dict[tuple[int, int], str]) -> Path:
        path = tmp_path / f"{entity}.xlsx"
        cli("duplicates", "--entity", entity, "-o", str(path), "--min-score", "0.5",
            "--db", str(db))
        sheet = pl.read_excel(path).with_columns(pl.col("a", "b").cast(pl.Int64))
        sheet = sheet.with_columns(pl.struct("a", "b").map_elements(
            lambda r: marks.get((r["a"], r["b"])), pl.String).alias("action"))
        return write_table(sheet, tmp_path / f"{entity}-decided.xlsx")

    people = review("person", {(1, 2): "merge", (7, 8): "Merge", (1, 3): "keep both"})
    preview = json.loads(cli("duplicates", "apply", str(people), "--dry-run", "--json",
                             "--db", str(db)).stdout)
    assert preview["status"] == "preview" and table_hashes(db) == before
    done = json.loads(cli("duplicates", "apply", str(people), "--json", "--db", str(db)).stdout)
    assert done["merged"] == [{"survivor": 1, "merged": 2}, {"survivor": 7, "merged": 8}]
    assert done["kept_both"] == 1
    assert table(db, "SELECT person_id FROM person ORDER BY 1")["person_id"].to_list() == \
        [1, 3, 4, 5, 6, 7]
    jon = table(db, "SELECT first_name, street FROM person WHERE person_id = 1").row(0)
    assert jon == ("Jonn", "Storgata 5")  # its own name kept, its empty street filled
    assert sorted(table(db, "SELECT address FROM email WHERE owner_id = 1")["address"]
                  .to_list()) == ["jon@hansen.no", "jon@jobb.no"]  # JON@… is the same
    assert ("s1", "person", 1) in table(db, "SELECT * FROM selection_member").rows()
    listed = json.loads(cli("duplicates", "--json", "--min-score", "0.5", "--db",
                            str(db)).stdout)
    assert (1, 3) not in [(p["a"], p["b"]) for p in listed["pairs"]]  # kept apart
    firms = review("company", {(1, 2): "merge"})
    cli("duplicates", "apply", str(firms), "--db", str(db))
    assert table(db, "SELECT company_id, orgnr FROM company").rows() == [(1, "923609016")]
    assert table(db, "SELECT company_id FROM person WHERE person_id = 7").item() == 1
    assert table(db, "SELECT owner_id FROM phone").item() == 1
    runs = table(db, "SELECT run_id FROM import_run WHERE kind = 'merge' AND status = "
                     "'completed' ORDER BY started_at DESC")["run_id"].to_list()
    assert "company      0          1" in cli("show", runs[0], "--db", str(db)).stdout
    for run_id in runs:  # (the last first)
        cli("undo", run_id, "--db", str(db))
    assert table_hashes(db) == before
    assert table(db, "SELECT * FROM selection_member ORDER BY 1, 2, 3").rows() == members
    assert table(db, "SELECT count(*) FROM duplicate_decision").item() == 0


def test_a_new_persons_company_is_the_runs_own_id_for_a_company_the_run_makes(
        tmp_path, monkeypatch):
    """What the suggestions compare as a new person's company: a CRM company's id, or for
    a company the run makes an id of the run's own, one a company, below every CRM id."""
    from tests.conftest import run_import, write_csv
    from transforms.duplicates import Suggester

    db = tmp_path / "crm.duckdb"
    seed(db, companies=[{"company_id": 7, "name": "Gammel AS"}])
    kept: list[pl.DataFrame] = []
    real = Suggester._keep

    def keep(self, kind, entity, frame):
        if (kind, entity) == ("new", "person"):
            kept.append(frame)
        real(self, kind, entity, frame)

    monkeypatch.setattr(Suggester, "_keep", keep)
    rows = [["Ny AS", "Lars", "Haugen"], ["Gammel AS", "Eva", "Lund"], ["Ny AS", "Lars",
                                                                          "Haugan"],
            ["Annen AS", "Kari", "Moe"], ["Ny AS", "Per", "Dal"]]
    s = run_import(write_csv(tmp_path / "f.csv", ["Company", "First name", "Last name"], rows),
                   db)
    assert s["company"]["new"] == 2 and s["suggestions"]["person"] == 1  # (the two Lars)
    company = pl.concat(kept).sort("first_row").select("first_row", "company").rows()
    ny, gammel, annen = company[0][1], company[1][1], company[3][1]
    assert gammel == 7 and ny < 0 and annen < 0 and ny != annen
    assert company[2][1] == company[4][1] == ny

def test_the_demo_crm_holds_two_pairs_that_merge_and_the_undo_restores(tmp_path):
    """(issue 20's Show) The demo's seed holds a company and a person entered twice,
    written another way. Its import suggests both — the person by the company they share,
    new in the same run, as the review after it sees them — the review lists both, and
    merging them and undoing the merges gives the CRM back exactly."""
    from tests.conftest import table, table_hashes

    db = tmp_path / "demo.duckdb"
    text = cli("demo", "--db", str(db)).stdout
    assert "records the seed holds twice" in text and "duplicates --entity person" in text
    seeded = table(db, "SELECT s.entity, s.score, s.candidate_id, s.crm_id FROM "
                       "staging.suggestions s JOIN import_run r USING (run_id) WHERE "
                       "r.file LIKE '%demo_crm_seed.csv' ORDER BY 1")
    assert seeded["entity"].to_list() == ["company", "person"]
    before = table_hashes(db)
    for entity, pair in (("company", ("Vestland Marine AS", "Vestland Marine")),
                         ("person", ("Haugen", "Haugan"))):
        listed = json.loads(cli("duplicates", "--entity", entity, "--json", "--db",
                                str(db)).stdout)["pairs"]
        assert len(listed) == 1  # the one the import suggested, with its score
        suggested = seeded.filter(pl.col("entity") == entity).row(0, named=True)
        assert (listed[0]["a"], listed[0]["b"]) == (suggested["candidate_id"],
                                                    suggested["crm_id"])
        assert listed[0]["score"] == pytest.approx(suggested["score"], abs=1e-4)
        review = tmp_path / f"{entity}.csv"
        cli("duplicates", "--entity", entity, "-o", str(review), "--db", str(db))
        lines = review.read_text(encoding="utf-8").splitlines()
        assert all(name in lines[2] for name in pair)  # (a comment, the header, the pair)
        review.write_text("\n".join([*lines[:2], "merge" + lines[2]]) + "\n", encoding="utf-8")
        done = json.loads(cli("duplicates", "apply", str(review), "--json", "--db",
                              str(db)).stdout)
        assert done["merged"] == [{"survivor": listed[0]["a"], "merged": listed[0]["b"]}]
    assert table(db, "SELECT count(*) FROM company WHERE name LIKE 'Vestland%'").item() == 1
    assert table(db, "SELECT count(*) FROM person WHERE first_name = 'Lars'").item() == 1
    assert table_hashes(db) != before
    # each merge is listed with its counts, as an import is (they were empty): the review's
    # row read, the record kept updated
    runs = json.loads(cli("runs", "--json", "--db", str(db)).stdout)["runs"]
    assert [(r["kind"], r["source"], r["rows_read"], r["rows_rejected"], r["company_updated"],
             r["person_updated"]) for r in runs[:3]] == [
        ("merge", "duplicates", 1, 0, 0, 1), ("merge", "duplicates", 1, 0, 1, 0),
        ("import", "excel", 9, 1, 1, 1)]
    listed = cli("runs", "--db", str(db)).stdout.splitlines()
    assert [line.split()[-2:] for line in listed if "person.csv" in line] == [["+0", "~1"]]
    for _ in range(2):  # (the person's merge first, then the company's)
        cli("undo", "last", "--db", str(db))
    assert table_hashes(db) == before


@pytest.mark.parametrize("n", [0, 1, 5])
def test_the_json_of_pairs_is_written_by_slices_as_one_object(n, capsys):
    """`--json` writes the pairs as text a slice at a time (1.57M pairs as Python objects
    took 19 s and 1.5 GB): whatever the slices, one JSON object, each pair as scored."""
    from flows.cli.duplicates import _emit_pairs

    pairs = pl.DataFrame({"a": range(1, n + 1), "b": range(10, 10 + n),
                          "score": [0.9 + i / 100 for i in range(n)],
                          "evidence": ['{"first_name": "exact", "first_name_similarity": 1.0}',
                                       '{"email": "exact"}', "{}", '{"x": "Ødegård"}',
                                       '{"y": 0.5}'][:n]})
    _emit_pairs("person", pairs, slice_rows=2)
    said = json.loads(capsys.readouterr().out)
    assert said == {"entity": "person", "pairs": [
        {"a": a, "b": b, "score": score, "evidence": json.loads(evidence)}
        for a, b, score, evidence in pairs.iter_rows()]}


def test_a_review_with_a_wrong_action_names_its_row(tmp_path):
    from transforms.merge import ReviewInvalid, read_review

    frame = pl.DataFrame({"source_row": [2, 3], "action": ["merge", "delete"],
                          "keep": [None, None], "entity": ["person", "person"],
                          "a": ["1", "3"], "b": ["2", "4"]})
    with pytest.raises(ReviewInvalid) as info:
        read_review("r.xlsx", frame)
    assert str(info.value).startswith("r.xlsx: row 3, column action: not merge or keep both")


@pytest.mark.parametrize("lookups", [3, 2])
def test_a_chunked_import_suggests_too(tmp_path, monkeypatch, lookups):
    """A file of more than [import] chunk_rows rows: each chunk's new records are scored
    against the CRM as it was and against the new records of the chunks before it; a pair
    across chunks names the earlier record's row, and its id once the run has committed.
    The CRM records near each of its 3 chunks are looked up in the CRM (NEAR_LOOKUPS 3),
    or in its values hashed once (NEAR_LOOKUPS 2)."""
    from tests.conftest import run_import, table, write_csv
    from transforms import duplicates

    monkeypatch.setattr(duplicates, "NEAR_LOOKUPS", lookups)
    db = tmp_path / "crm.duckdb"
    seed(db, persons=[{"person_id": 1, "first_name": "Jon", "last_name": "Hansen",
                       "birth_date": "1971-04-02", "street": "Storgata 5", "postcode": "0150",
                       "city": "Oslo"}])
    import random

    rng = random.Random(3)  # (names made of syllables: no two alike by chance)
    syl = ["ka", "ri", "no", "ls", "en", "ha", "ma", "to", "be", "li", "sa", "vi", "ol", "er"]
    rows = [["".join(rng.choices(syl, k=3)).title(), "".join(rng.choices(syl, k=4)).title(),
             f"{rng.randint(1930, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
             f"{''.join(rng.choices(syl, k=3)).title()}veien {rng.randint(1, 200)}",
             f"{rng.randint(1, 9999):04d}", "".join(rng.choices(syl, k=2)).title()]
            for _ in range(2400)]
    rows[5][0], rows[5][1] = "Per", "Olsen"
    rows[10] = ["Jonn", "Hansen", "1971-04-02", "Storgata 5", "0150", "Oslo"]  # the CRM's
    rows[2300] = ["Per", "Olssen", rows[5][2], rows[5][3], rows[5][4], rows[5][5]]  # row 7's
    file = tmp_path / "big.csv"
    write_csv(file, ["First name", "Last name", "Birth date", "Street", "Postcode", "City"],
              rows)
    done = run_import(file, db, settings={"import": {"chunk_rows": 1000}})
    assert done["status"] == "completed" and done["chunks"] == 3, done["errors"]
    staged = table(db, "SELECT source_row, candidate_id, crm_id FROM staging.suggestions "
                       "ORDER BY source_row").rows()
    per = table(db, "SELECT person_id FROM person WHERE first_name = 'Per' AND last_name = "
                    "'Olsen'").item()
    assert {(12, 1), (2302, per)} <= {(r, c) for r, c, _ in staged}
    assert table(db, "SELECT candidate_row FROM staging.suggestions WHERE source_row = 2302"
                 ).item() == 7
    assert done["suggestions"] == {"company": 0, "person": 2}  # (the rest: no look-alikes)
    assert all(crm_id is not None for *_, crm_id in staged)


def test_chunks_suggest_what_the_whole_file_does(tmp_path, monkeypatch):
    """A block is counted over the whole run, not a chunk: a mobile number on 60 rows of
    a file in 3 chunks (more than MAX_BLOCK) pairs nothing, as in one piece — counted a
    chunk at a time, its 20 rows a chunk paired every two of the same surname. So are term
    frequencies: a pair's score is the same in chunks (counted a chunk at a time, the 12
    Pers of the file were 2 in the pair's chunk, and the pair scored higher). And so is a
    run scored a chunk at a time (SCORE_PIECE), each chunk against the ones before it."""
    import random

    from tests.conftest import run_import, table, write_csv
    from transforms import duplicates
    from transforms.duplicates import MAX_BLOCK

    rng = random.Random(5)
    syl = ["ka", "ri", "no", "ls", "en", "ha", "ma", "to", "be", "li", "sa", "vi", "ol", "er"]

    def word(k: int) -> str:
        return "".join(rng.choices(syl, k=k)).title()

    rows = [[word(3), word(4), f"{rng.randint(1930, 2005)}-{rng.randint(1, 12):02d}-"
             f"{rng.randint(1, 28):02d}", f"{word(3)}veien {rng.randint(1, 200)}",
             f"{rng.randint(1, 9999):04d}", word(2), f"+47 4{rng.randint(0, 9999999):07d}"]
            for _ in range(2400)]
    shared = list(range(0, 2400, 40))  # 60 rows, 20 in each chunk of 1,000 (file order)
    assert len(shared) > MAX_BLOCK
    for i, n in enumerate(shared):
        rows[n][1], rows[n][6] = ("Strand" if i % 2 else "Berg"), "+47 91234567"
    rows[5] = ["Per", "Olsen", "1980-01-02", "Storgata 1", "0150", "Oslo", "+47 40000001"]
    rows[2300] = ["Per", "Olssen", "1980-01-02", "Fjellveien 9", "5003", "Bergen", ""]
    for n in range(1100, 1110):  # (more Pers, in another chunk)
        rows[n][0] = "Per"
    file = tmp_path / "big.csv"
    write_csv(file, ["First name", "Last name", "Birth date", "Street", "Postcode", "City",
                     "Mobile"], rows)
    found = {}
    for chunk_rows, piece in ((1000, duplicates.SCORE_PIECE), (1000, 1), (10_000, 1)):
        monkeypatch.setattr(duplicates, "SCORE_PIECE", piece)
        db = tmp_path / f"crm-{chunk_rows}-{piece}.duckdb"
        done = run_import(file, db, settings={"import": {"chunk_rows": chunk_rows}},
                          dry_run=True)
        assert done.get("chunks") == (3 if chunk_rows == 1000 else None), done
        found[chunk_rows, piece] = set(table(db, "SELECT source_row, candidate_row, score "
                                                 "FROM staging.suggestions").rows())
    assert len(set(map(frozenset, found.values()))) == 1, found
    assert {(a, b) for a, b, _ in found[10_000, 1]} == {(2302, 7)}


def test_a_chain_of_merges_follows_the_earlier_ones_and_undoes_exactly(tmp_path):
    from flows.config import open_crm
    from tests.conftest import table, table_hashes
    from transforms.merge import apply_review
    from transforms.undo import undo_run

    db = tmp_path / "crm.duckdb"
    seed(db, persons=[{"person_id": 1, "first_name": "Jon", "last_name": "Hansen"},
                      {"person_id": 2, "first_name": "Jon", "last_name": "Hansen", "city": "Oslo"},
                      {"person_id": 3, "first_name": "Jon", "last_name": "Hansen",
                       "city": "Bergen"}])
    before = table_hashes(db)
    decisions = pl.DataFrame({"source_row": [2, 3], "action": ["merge", "merge"], "a": [1, 2],
                              "b": [2, 3], "keep": [None, None]},
                             schema={"source_row": pl.Int64, "action": pl.String,
                                     "a": pl.Int64, "b": pl.Int64, "keep": pl.Int64})
    with open_crm(str(db)) as store:
        done = apply_review(store, "person", decisions, file="review.xlsx")
    assert done["merged"] == [{"survivor": 1, "merged": 2}, {"survivor": 1, "merged": 3}]
    assert table(db, "SELECT person_id, city FROM person").rows() == [(1, "Oslo")]
    with open_crm(str(db)) as store:
        assert undo_run(store, done["run_id"]).status == "undone"
    assert table_hashes(db) == before
