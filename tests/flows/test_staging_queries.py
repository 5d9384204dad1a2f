"""Every example query of docs/STAGING.md, run on a real import, gives the right answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO, run_import, seed, table, write_csv

DOC = REPO / "docs" / "STAGING.md"
QUERIES = dict(re.findall(r"```sql\n-- name: (.+?)\n(.*?)```", DOC.read_text(encoding="utf-8"),
                          re.S))
LONG_NAME = "Omega " + "x" * 300


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("staging")
    db = tmp / "crm.duckdb"
    seed(db, companies=[{"company_id": 1, "name": "ACME AS", "street": None},
                        {"company_id": 2, "name": "Beta AS"}, {"company_id": 3, "name": "Beta AS"}],
         persons=[{"person_id": 10, "company_id": 1, "first_name": "Ola", "last_name": "Nordmann"}])
    f = write_csv(tmp / "kunder.csv", ["Company", "Street", "First name", "Last name", "Email"], [
        ["ACME AS", "New street 2", "Ola", "Nordmann", "ola@acme.no"],  # row 2: updates
        ["Beta AS", "", "Kari", "Hansen", "kari@beta.no"],  # row 3: ambiguous company
        ["", "", "Per", "Hansen", "per@x.no"],  # row 4: a person without company
        ["Gamma AS", "", "Bad", "Email", "not-an-email"],  # row 5: a dropped value
        [LONG_NAME, "", "Too", "Long", "too@long.no"],  # row 6: rejected
    ])
    s = run_import(f, db, {"person": {"if_no_company": "without_company"}})
    assert s["status"] == "completed", s["errors"]
    return db, s["run_id"]


def ask(db: Path, name: str, run_id: str) -> list[tuple]:
    sql = QUERIES[name]
    return table(db, sql, [run_id] * sql.count("?")).rows()


def test_the_doc_has_at_least_six_queries():
    assert len(QUERIES) >= 6


def test_rejects_per_reason(run):
    db, run_id = run
    rows = ask(db, "rejects per reason in the last run", run_id)
    assert len(rows) == 1 and "too long" in rows[0][0] and rows[0][1] == 1


def test_companies_updated(run):
    db, run_id = run
    assert ask(db, "companies a run updated, with old and new values", run_id) == [
        ("ACME AS", "street", None, "New street 2")]


def test_persons_without_company(run):
    db, run_id = run
    assert ask(db, "persons a run created without a company", run_id) == [("Per", "Hansen")]


def test_ambiguous_candidates(run):
    db, run_id = run
    assert ask(db, "ambiguous matches with their candidates", run_id) == [
        (3, "company", "beta as", [2, 3])]


def test_warnings_per_code(run):
    db, run_id = run
    assert ("invalid_value", "Email", 1) in ask(db, "warnings per code and column in a run", run_id)


def test_emails_added_to_existing_persons(run):
    db, run_id = run
    assert ask(db, "e-mail addresses a run added to persons already in the CRM", run_id) == [
        ("Ola", "Nordmann", "ola@acme.no")]


def test_outcome_counts(run):
    db, run_id = run
    got = {(e, o): n for e, o, n in ask(db, "outcome counts per entity in a run, from the plan",
                                         run_id)}
    assert got[("company", "updated")] == 1 and got[("company", "ambiguous")] == 1
    assert got[("company", "new")] == 1  # Gamma AS
    assert got[("person", "updated")] == 1 and got[("person", "new")] == 2
    assert got[("person", "skipped")] == 1  # Kari: her company is ambiguous


def test_raw_cells_of_rejected_rows(run):
    db, run_id = run
    rows = ask(db, "the file's own cells of the rejected rows", run_id)
    assert [(r[0], r[2]) for r in rows] == [(6, LONG_NAME)]


def test_a_created_record_is_tied_to_its_source_row(tmp_path, db):
    """(issue 22 #13: staging.plan.crm_id was empty for new records)"""
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name"],
                  [["ACME AS", "Ola", "Nordmann"], ["ACME AS", "Kari", "Hansen"],
                   ["Beta AS", "Per", "Berg"]])
    s = run_import(f, db)
    rows = table(db, "SELECT p.source_row, p.entity, p.crm_id, coalesce(c.name, pe.first_name) "
                     "AS name FROM staging.plan p LEFT JOIN company c ON p.entity = 'company' "
                     "AND c.company_id = p.crm_id LEFT JOIN person pe ON p.entity = 'person' "
                     "AND pe.person_id = p.crm_id WHERE p.run_id = ? ORDER BY 1, 2",
                 [s["run_id"]]).rows()
    assert [(r, e, n) for r, e, _, n in rows] == [
        (2, "company", "ACME AS"), (2, "person", "Ola"), (3, "company", "ACME AS"),
        (3, "person", "Kari"), (4, "company", "Beta AS"), (4, "person", "Per")]
    ids = table(db, "SELECT entity, crm_id FROM staging.plan WHERE run_id = ? AND outcome = 'new'",
                [s["run_id"]])
    members = table(db, "SELECT entity, entity_id FROM selection_member WHERE selection_id = ?",
                    [f"{s['run_id']}-new"])
    assert ids["crm_id"].null_count() == 0
    assert set(ids.unique().rows()) == set(members.rows())


def test_the_ids_of_created_records_are_staged_once_the_run_has_committed(tmp_path,
                                                                         monkeypatch):
    """staging.plan shows a new record's id from staging.created (a row a chunk and entity,
    written once the run has committed): the run's rows of staging.outcomes are written
    once, not rewritten with the ids. A run stopped before its commit, or a preview, shows
    none."""
    db = tmp_path / "crm.duckdb"
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name"],
                  [["ACME AS", "Ola", "Nordmann"], ["ACME AS", "Kari", "Hansen"],
                   ["Beta AS", "Per", "Berg"]])
    from flows.faults import InjectedFault

    monkeypatch.setenv("CRM_IMPORT_FAIL_AT", "commit")
    with pytest.raises(InjectedFault):
        run_import(f, db)
    monkeypatch.delenv("CRM_IMPORT_FAIL_AT")
    failed = {"run_id": table(db, "SELECT run_id FROM import_run WHERE status = 'failed'").item()}
    preview = run_import(f, db, dry_run=True)
    done = run_import(f, db)
    assert done["status"] == "completed"

    def shown(run_id: str) -> list[tuple]:
        return table(db, "SELECT source_row, entity, outcome, crm_id FROM staging.plan WHERE "
                         "run_id = ? ORDER BY source_row, entity", [run_id]).rows()

    for stopped in (failed, preview):
        assert [(r, o, i) for r, _, o, i in shown(stopped["run_id"])] == [
            (2, "new", None), (2, "new", None), (3, "new", None), (3, "new", None),
            (4, "new", None), (4, "new", None)]
    companies = dict(table(db, "SELECT name, company_id FROM company").rows())
    persons = dict(table(db, "SELECT first_name, person_id FROM person").rows())
    assert shown(done["run_id"]) == [
        (2, "company", "new", companies["ACME AS"]), (2, "person", "new", persons["Ola"]),
        (3, "company", "new", companies["ACME AS"]), (3, "person", "new", persons["Kari"]),
        (4, "company", "new", companies["Beta AS"]), (4, "person", "new", persons["Per"])]
    assert table(db, "SELECT run_id, entity, len(crm_ids) FROM staging.created ORDER BY "
                     "entity").rows() == [(done["run_id"], "company", 3),
                                           (done["run_id"], "person", 3)]
    assert table(db, "SELECT count(*) FROM (SELECT unnest(plan) AS p FROM staging.outcomes "
                     "WHERE run_id = ?) WHERE p.crm_id IS NOT NULL", [done["run_id"]]
                 ).item() == 0


def test_canonical_is_one_row_a_value_stored_once_a_record(run):
    """staging.canonical answers one row per non-empty mapped value, as when it was a table,
    while the values are stored once per record (staging.raw_rows.fields)."""
    db, run_id = run
    long = table(db, "SELECT source_row, field, value FROM staging.canonical WHERE run_id = ? "
                     "ORDER BY source_row, field", [run_id]).rows()
    assert (2, "company_name", "ACME AS") in long and (4, "person_first_name", "Per") in long
    assert not any(value is None or field == "company_name" and row == 4
                   for row, field, value in long)
    kinds = dict(table(db, "SELECT table_name, table_type FROM information_schema.tables "
                           "WHERE table_schema = 'staging'").rows())
    assert kinds["canonical"] == "VIEW" and kinds["raw_rows"] == "BASE TABLE"
    stored = table(db, "SELECT count(*) FROM staging.raw_rows WHERE run_id = ?", [run_id]).item()
    assert stored == 5 < len(long)


def test_a_staging_file_of_an_older_version_keeps_its_values(tmp_path):
    """A file written when staging.canonical was a table (one row a value) is converted on
    open: every value kept, under its record; a value without a record keeps one too."""
    import duckdb

    from flows.config import open_crm

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.raw_rows (run_id VARCHAR, source_row BIGINT, record VARCHAR)")
    con.execute("CREATE TABLE staging.canonical (run_id VARCHAR, source_row BIGINT, "
                "field VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO staging.raw_rows VALUES ('r1', 2, '{\"Name\": \"ACME\"}'), "
                "('r1', 3, '{\"Name\": \"\"}')")
    con.execute("INSERT INTO staging.canonical VALUES ('r1', 2, 'company_name', 'ACME'), "
                "('r1', 2, 'company_city', 'Oslo'), ('r2', 7, 'person_last_name', 'Lie')")
    con.close()
    with open_crm(str(db)):
        pass
    assert table(db, "SELECT run_id, source_row, field, value FROM staging.canonical ORDER BY "
                     "ALL").rows() == [("r1", 2, "company_city", "Oslo"),
                                       ("r1", 2, "company_name", "ACME"),
                                       ("r2", 7, "person_last_name", "Lie")]
    assert table(db, "SELECT run_id, source_row, record FROM staging.raw_rows ORDER BY ALL"
                 ).rows() == [("r1", 2, '{"Name": "ACME"}'), ("r1", 3, '{"Name": ""}'),
                              ("r2", 7, None)]
    with open_crm(str(db)):  # (a second open finds nothing to convert)
        pass
    assert table(db, "SELECT count(*) FROM staging.canonical").item() == 3


def test_plan_changes_and_candidates_are_stored_once_a_row(run):
    """staging.plan, .changes and .candidates answer one row an entry, as when they were
    tables, from one stored row per source row (staging.outcomes), its entries in the order
    written."""
    db, run_id = run
    kinds = dict(table(db, "SELECT table_name, table_type FROM information_schema.tables "
                           "WHERE table_schema = 'staging'").rows())
    assert {kinds[t] for t in ("plan", "changes", "candidates")} == {"VIEW"}
    assert kinds["outcomes"] == "BASE TABLE"
    plan = table(db, "SELECT source_row, entity, outcome FROM staging.plan WHERE run_id = ?",
                 [run_id]).rows()
    stored = table(db, "SELECT count(*) FROM staging.outcomes WHERE run_id = ?", [run_id]).item()
    assert stored == len({row for row, *_ in plan}) < len(plan)
    # (within a row, in the order the plan wrote them: the company first)
    assert table(db, "SELECT [p.entity FOR p IN plan] FROM staging.outcomes WHERE run_id = ? "
                     "AND source_row = 2", [run_id]).item().to_list() == ["company", "person"]
    assert sorted(e for r, e, _ in plan if r == 2) == ["company", "person"]
    changes = table(db, "SELECT count(*) FROM staging.changes WHERE run_id = ?", [run_id]).item()
    assert changes > 0


def test_older_plan_changes_and_candidates_tables_are_converted(tmp_path):
    """A file written when staging.plan, .changes and .candidates were tables is converted
    on open: every row kept, in its order, rows of a source row with no plan included."""
    import duckdb

    from flows.config import open_crm

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.plan (run_id VARCHAR, source_row BIGINT, entity VARCHAR, "
                "outcome VARCHAR, crm_id BIGINT, reason VARCHAR)")
    con.execute("CREATE TABLE staging.changes (run_id VARCHAR, source_row BIGINT, entity "
                "VARCHAR, crm_id BIGINT, field VARCHAR, old_value VARCHAR, new_value VARCHAR)")
    con.execute("CREATE TABLE staging.candidates (run_id VARCHAR, source_row BIGINT, entity "
                "VARCHAR, match_key VARCHAR, key_value VARCHAR, crm_id BIGINT)")
    con.execute("INSERT INTO staging.plan VALUES ('r1', 2, 'person', 'new', 11, NULL), "
                "('r1', 2, 'company', 'updated', 5, NULL), ('r2', 2, 'person', 'skipped', "
                "NULL, 'no key')")
    con.execute("INSERT INTO staging.changes VALUES ('r1', 2, 'company', 5, 'city', 'Oslo', "
                "'Bergen'), ('r1', 2, 'company', 5, 'street', NULL, 'Gate 1'), "
                "('r1', 9, 'person', 3, 'email', NULL, 'a@b.no')")
    con.execute("INSERT INTO staging.candidates VALUES ('r1', 2, 'company', 'name', 'acme', 5)")
    con.close()
    with open_crm(str(db)):
        pass
    assert sorted(table(db, "SELECT * FROM staging.plan").rows(), key=str) == sorted([
        ("r1", 2, "person", "new", 11, None), ("r1", 2, "company", "updated", 5, None),
        ("r2", 2, "person", "skipped", None, "no key")], key=str)
    assert table(db, "SELECT [p.entity FOR p IN plan] FROM staging.outcomes WHERE run_id = "
                     "'r1' AND source_row = 2").item().to_list() == ["person", "company"]
    assert table(db, "SELECT * FROM staging.changes ORDER BY run_id, source_row").rows() == [
        ("r1", 2, "company", 5, "city", "Oslo", "Bergen"),
        ("r1", 2, "company", 5, "street", None, "Gate 1"),
        ("r1", 9, "person", 3, "email", None, "a@b.no")]
    assert table(db, "SELECT * FROM staging.candidates").rows() == [
        ("r1", 2, "company", "name", "acme", 5)]
    with open_crm(str(db)):  # (a second open finds nothing to convert)
        pass
    assert table(db, "SELECT count(*) FROM staging.plan").item() == 3


def test_a_plan_view_of_an_older_version_is_made_again(tmp_path):
    """A file whose staging.plan is the view of before staging.created: made again on open,
    its runs' ids (written into staging.outcomes then) still shown."""
    import duckdb

    from flows.config import open_crm

    db = tmp_path / "old.duckdb"
    with open_crm(str(db)):
        pass
    con = duckdb.connect(str(db))
    con.execute("CREATE OR REPLACE VIEW staging.plan AS SELECT run_id, source_row, p.entity AS "
                "entity, p.outcome AS outcome, p.crm_id AS crm_id, p.reason AS reason FROM ("
                "SELECT run_id, source_row, unnest(plan) AS p FROM staging.outcomes)")
    con.execute("INSERT INTO staging.outcomes (run_id, source_row, plan) VALUES ('r1', 2, "
                "[{'entity': 'person', 'outcome': 'new', 'crm_id': 11, 'reason': NULL}])")
    con.close()
    with open_crm(str(db)):
        pass
    assert "staging.created" in table(db, "SELECT sql FROM duckdb_views() WHERE view_name = "
                                          "'plan'").item()
    assert table(db, "SELECT * FROM staging.plan").rows() == [
        ("r1", 2, "person", "new", 11, None)]
