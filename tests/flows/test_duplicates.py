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
from transforms.duplicates import COMPANY, PERSON, company_frame, person_frame, score_pairs

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


def test_pairs_involving_some_records_only():
    pairs = score_pairs(person_frame(persons()), PERSON, min_score=0.9,
                        only=pl.Series([8]))
    assert set(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True)) == {(7, 8)}


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
    assert sheet.columns[:4] == ["action", "score", "a", "b"]
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
