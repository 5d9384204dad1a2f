"""Undo: the CRM comes back exactly as it was; conflicts are reported, not overwritten."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.config import open_crm
from tests.conftest import run_import, seed, table, table_hashes, write_csv
from transforms.store import SCHEMA_VERSION
from transforms.undo import RunPurged, undo_run

pytestmark = pytest.mark.both_stores


def _undo(db, run_id, **kw):
    with open_crm(str(db)) as store:
        return undo_run(store, run_id, **kw)


def _crm(db):
    seed(db, companies=[{"company_id": 1, "name": "ACME Inc.", "street": "Main street 456", "code": "A1"},
                        {"company_id": 2, "name": "Beta AS", "street": None, "category": "Customer"}],
         persons=[{"person_id": 1, "company_id": 1, "first_name": "Ola", "last_name": "Nordmann",
                   "title": "Mr", "birth_date": "1980-05-17"}],
         phones=[{"phone_id": 1, "owner_kind": "person", "owner_id": 1, "kind": "mobile",
                  "number": "900 00 001", "number_e164": "+4790000001", "rank": 1}],
         emails=[{"email_id": 1, "owner_kind": "person", "owner_id": 1, "address": "ola@acme.no",
                  "rank": 1}],
         list_items=[{"list_item_id": 1, "list_name": "category", "value": "Customer", "is_default": True}])


def _file(tmp_path):
    return write_csv(tmp_path / "in.csv", ["Company", "Address", "Category", "First name", "Last name",
                                           "Title", "Birthday", "Mobile", "Email", "Interests"], [
        ["ACME Inc.", "Broadway 123", "VIP", "Ola", "Nordmann", "Dr", "17.05.1981", "900 00 002",
         "ola.n@acme.no", "Golf"],
        ["Beta AS", "Storgata 1", "", "Kari", "Hansen", "", "", "", "kari@beta.no", ""],
        ["Gamma AS", "", "Partner", "Per", "Berg", "", "", "+47 41 00 00 00", "", "Golf; Sail"],
        ["", "", "", "Eva", "Lund", "", "", "", "eva@x.no", ""],
    ])


@pytest.mark.parametrize("action", ["add", "merge", "replace", "skip"])
@pytest.mark.parametrize("values", ["add", "replace"])
def test_undo_after_each_action_restores_every_table(tmp_path, db, action, values):
    _crm(db)
    before = table_hashes(db)
    s = run_import(_file(tmp_path), db, {
        "company": {"action": action}, "person": {"action": action},
        "lists": {"phones": values, "urls_emails": values}})
    assert s["status"] == "completed"
    assert table_hashes(db) != before  # the run changed something (new companies at least)
    result = _undo(db, s["run_id"])
    assert result.status == "undone" and result.conflicts.height == 0
    assert table_hashes(db) == before
    assert table(db, "SELECT status FROM import_run WHERE run_id = ?", [s["run_id"]]).item() == "undone"
    again = _undo(db, s["run_id"])
    assert again.status == "noop" and "already undone" in again.message


def test_undo_dry_run_changes_nothing(tmp_path, db):
    _crm(db)
    s = run_import(_file(tmp_path), db)
    after = table_hashes(db)
    preview = _undo(db, s["run_id"], dry_run=True)
    assert preview.status == "preview" and preview.deleted["company"] == 2
    assert table_hashes(db) == after


def test_a_field_changed_after_the_run_is_a_conflict(tmp_path, db):
    _crm(db)
    before = table_hashes(db)
    s = run_import(_file(tmp_path), db)  # merge fills Beta's street
    with open_crm(str(db)) as store:  # someone edits it by hand afterwards
        store.execute("UPDATE company SET street = 'Edited 9' WHERE company_id = 2")
    result = _undo(db, s["run_id"])
    assert {(c["entity"], c["entity_id"], c["field"], c["current_value"]) for c in result.conflicts.rows(named=True)} == {
        ("company", 2, "street", "Edited 9")}
    assert table(db, "SELECT street FROM company WHERE company_id = 2").item() == "Edited 9"
    assert table_hashes(db)["person"] == before["person"]  # the rest was undone


def test_force_restores_conflicting_values(tmp_path, db):
    _crm(db)
    before = table_hashes(db)
    s = run_import(_file(tmp_path), db)
    with open_crm(str(db)) as store:
        store.execute("UPDATE company SET street = 'Edited 9' WHERE company_id = 2")
    _undo(db, s["run_id"], force=True)
    assert table_hashes(db) == before


def test_later_runs_are_reported_and_their_records_kept(tmp_path, db):
    first = run_import(_file(tmp_path), db)
    f2 = write_csv(tmp_path / "more.csv", ["Company", "First name", "Last name", "Mobile"],
                   [["Gamma AS", "Siri", "Dahl", "900 55 555"]])
    second = run_import(f2, db)  # adds a person to Gamma AS, created by the first run
    result = _undo(db, first["run_id"])
    assert result.later_runs == [second["run_id"]]
    reasons = {(c["entity"], c["reason"]) for c in result.conflicts.rows(named=True)}
    assert ("company", "persons not created by this run belong to it") in reasons
    assert table(db, "SELECT name FROM company ORDER BY name").rows() == [("Gamma AS",)]
    assert table(db, "SELECT first_name FROM person").rows() == [("Siri",)]


def test_undo_of_something_that_changed_nothing(tmp_path, db):
    s = run_import(_file(tmp_path), db, dry_run=True)
    assert _undo(db, s["run_id"]).status == "noop"


def test_undo_of_a_purged_run_is_refused(tmp_path, db):
    from datetime import timedelta

    from transforms.selection import purge

    s = run_import(_file(tmp_path), db)
    with open_crm(str(db)) as store:
        done = purge(store, older_than=timedelta(seconds=0))
    assert s["run_id"] in done["runs"]
    assert table(db, "SELECT count(*) FROM staging.raw_rows").item() == 0
    assert table(db, "SELECT count(*) FROM change_log WHERE new_value IS NOT NULL "
                     "OR old_value IS NOT NULL").item() == 0
    with pytest.raises(RunPurged, match="can no longer be undone"):
        _undo(db, s["run_id"])


_VALUE_ROWS = {"phone": "phone_id, owner_kind, owner_id, kind, number, number_e164, rank",
               "email": "email_id, owner_kind, owner_id, address, rank",
               "interest": "interest_id, owner_kind, owner_id, value"}


def test_the_values_a_run_adds_are_logged_as_ranges_that_change_log_spells_out(tmp_path, db):
    """(issue 21) A run's new phones, e-mails and interests are stored in the change log as
    ranges of ids (change_log_range), not a row each; `change_log` still shows a row a
    value, its new_value the value's row as JSON, each with a change id of its own. A value
    deleted since is still listed, without its row; the undo still gives the CRM back."""
    _crm(db)
    before = table_hashes(db)
    s = run_import(_file(tmp_path), db)
    rid = s["run_id"]
    ranges = table(db, "SELECT entity, first_id, last_id FROM change_log_range WHERE run_id = ? "
                       "ORDER BY entity", [rid]).rows()
    assert [e for e, *_ in ranges] == ["email", "interest", "phone"]
    assert table(db, "SELECT count(*) FROM change_log_entry WHERE run_id = ? AND entity IN "
                     "('phone', 'email', 'url', 'interest') AND op = 'insert'", [rid]).item() == 0
    log = table(db, "SELECT change_id, entity, entity_id, op, field, old_value, new_value "
                    "FROM change_log WHERE run_id = ?", [rid])
    assert log["change_id"].n_unique() == log.height
    for entity, first, last in ranges:
        shown = log.filter(pl.col("entity") == entity).sort("entity_id")
        assert shown["entity_id"].to_list() == list(range(first, last + 1))
        assert set(shown["op"]) == {"insert"} and set(shown["field"]) == {""}
        rows = table(db, f"SELECT {_VALUE_ROWS[entity]} FROM {entity} WHERE {entity}_id "
                         "BETWEEN ? AND ? ORDER BY 1", [first, last]).rows(named=True)
        assert [json.loads(v) for v in shown["new_value"]] == [
            {k: v for k, v in row.items() if k != f"{entity}_id"} for row in rows]
    assert table(db, "SELECT address FROM email WHERE email_id BETWEEN ? AND ? ORDER BY 1",
                 list(ranges[0][1:])).to_series().to_list() == [
        "eva@x.no", "kari@beta.no", "ola.n@acme.no"]
    gone = ranges[0][1]  # (an e-mail of the run, deleted by hand)
    with open_crm(str(db)) as store:
        store.execute("DELETE FROM email WHERE email_id = ?", [gone])
    assert table(db, "SELECT entity, op, new_value FROM change_log WHERE run_id = ? AND "
                     "entity = 'email' AND entity_id = ?", [rid, gone]).rows() == [
        ("email", "insert", None)]
    result = _undo(db, rid)
    assert result.status == "undone" and result.conflicts.height == 0
    assert table_hashes(db) == before


def test_a_change_log_written_before_the_ranges_is_converted_and_undone(tmp_path, db):
    """(issue 21) A CRM of schema version 6, whose change log is a table with a row a value,
    is converted when next opened: the same rows under `change_log`, and its runs undo."""
    _crm(db)
    before = table_hashes(db)
    s = run_import(_file(tmp_path), db)
    shown = table(db, "SELECT * FROM change_log ORDER BY change_id")
    with open_crm(str(db)) as store:  # as version 6 left it: a row an entry, in a table
        store.execute("DROP VIEW change_log")
        store.execute("ALTER TABLE change_log_entry RENAME TO change_log")
        store.register("spelt_out", shown)
        store.execute("DELETE FROM change_log")
        store.execute("INSERT INTO change_log SELECT * FROM spelt_out")
        store.execute("DROP TABLE change_log_range")
        store.execute("DELETE FROM schema_version WHERE version >= 7")
    assert table(db, "SELECT max(version) FROM schema_version").item() == SCHEMA_VERSION
    assert table(db, "SELECT count(*) FROM change_log_range").item() == 0
    assert table(db, "SELECT * FROM change_log_entry ORDER BY change_id").equals(shown)
    assert table(db, "SELECT * FROM change_log ORDER BY change_id").equals(shown)
    result = _undo(db, s["run_id"])
    assert result.status == "undone" and result.conflicts.height == 0
    assert table_hashes(db) == before
    again = run_import(_file(tmp_path), db)  # (a new run's values: a range again, above)
    assert table(db, "SELECT min(change_id) FROM change_log WHERE run_id = ?",
                 [again["run_id"]]).item() > shown["change_id"].max()
    assert table(db, "SELECT count(*) FROM change_log_range WHERE run_id = ?",
                 [again["run_id"]]).item() == 3


# --- undo(run(crm)) == crm, over random CRMs and files ----------------------------------------

names = st.sampled_from(["ACME", "acme ", "Beta AS", "Gamma", "Delta", ""])
people = st.sampled_from([("Ola", "N"), ("ola", "n"), ("Kari", "H"), ("", ""), ("Per", "B")])
cells = st.sampled_from(["", "Oslo", "Bergen", "0150"])
phones = st.sampled_from(["", "900 00 001", "+47 900 00 002", "call me"])
mails = st.sampled_from(["", "a@x.no", "A@X.NO", "b@y.no", "bad@"])
row = st.tuples(names, people, cells, phones, mails)


@settings(max_examples=int(os.environ.get("UNDO_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(crm_rows=st.lists(row, max_size=4), file_rows=st.lists(row, min_size=1, max_size=6),
       action=st.sampled_from(["add", "merge", "replace", "skip"]),
       values=st.sampled_from(["add", "replace", "ignore"]),
       if_no_company=st.sampled_from(["create_company", "skip", "without_company"]))
def test_undo_of_a_run_gives_back_the_crm(crm_rows, file_rows, action, values, if_no_company):
    header = ["Company", "First name", "Last name", "City", "Mobile", "Email"]

    def flat(rows):
        return [[c, f, la, city, ph, m] for c, (f, la), city, ph, m in rows]

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "crm.duckdb"
        if crm_rows:  # a CRM made by an earlier import
            run_import(write_csv(Path(tmp) / "crm.csv", header, flat(crm_rows)), db,
                       {"import": {"max_rejects": 1.0}})
        before = table_hashes(db)
        s = run_import(write_csv(Path(tmp) / "in.csv", header, flat(file_rows)), db, {
            "import": {"max_rejects": 1.0},
            "company": {"action": action}, "person": {"action": action, "if_no_company": if_no_company},
            "lists": {"phones": values, "urls_emails": values}})
        if s["status"] != "completed":
            return
        after = table_hashes(db)
        preview = _undo(db, s["run_id"], dry_run=True)
        assert table_hashes(db) == after
        result = _undo(db, s["run_id"])
        assert result.conflicts.height == 0
        assert table_hashes(db) == before
        assert _outcome(preview) == _outcome(result)  # (issue 17 §6: the preview is exact)


def _outcome(result) -> dict:
    """An undo's result, less what says whether it was a preview."""
    out = result.as_dict()
    return {k: v for k, v in out.items() if k not in ("status", "message")}


def test_the_preview_of_an_undo_is_what_the_undo_does(tmp_path, db):
    """(issue 17 §6: the preview left out the list items and a `list_item … still used`
    conflict) A preview runs the undo in a transaction it rolls back."""
    _crm(db)
    s = run_import(_file(tmp_path), db)  # adds list items VIP, Partner, Golf, Sail
    later = write_csv(tmp_path / "later.csv", ["Company", "Category"], [["Delta AS", "VIP"]])
    assert run_import(later, db)["status"] == "completed"  # VIP now used by what stays
    with open_crm(str(db)) as store:  # and a hand edit of what the run changed
        store.execute("UPDATE company SET street = 'Edited 9' WHERE company_id = 2")
    after = table_hashes(db)
    preview = _undo(db, s["run_id"], dry_run=True)
    assert table_hashes(db) == after
    assert preview.status == "preview"
    reasons = preview.conflicts["reason"].to_list()
    assert any("still used" in r for r in reasons) and len(reasons) == 2
    assert preview.deleted.get("list_item", 0) >= 3
    done = _undo(db, s["run_id"])
    assert _outcome(preview) == _outcome(done)


def test_an_undo_kept_from_finishing_can_be_finished_later(tmp_path, db):
    """(issue 22 #6: an undo with conflicts marked the run undone, so it could never be
    finished) Partly undone: what conflicted stays; a later undo does the rest, once."""
    _crm(db)
    before = table_hashes(db)
    s = run_import(_file(tmp_path), db)  # merge fills Beta's street
    with open_crm(str(db)) as store:  # someone edits it by hand afterwards
        store.execute("UPDATE company SET street = 'Edited 9' WHERE company_id = 2")
    first = _undo(db, s["run_id"])
    assert first.status == "partly-undone" and first.conflicts.height == 1
    assert "undo it again to finish" in first.message
    assert table(db, "SELECT status, undone_at FROM import_run WHERE run_id = ?",
                 [s["run_id"]]).row(0) == ("partly-undone", None)
    partly = table_hashes(db)
    again = _undo(db, s["run_id"])  # nothing settled: the same conflict, nothing else to do
    assert again.status == "partly-undone" and again.conflicts.height == 1
    assert again.deleted == {} and again.restored_fields == 0 and again.restored_records == 0
    assert table_hashes(db) == partly
    with open_crm(str(db)) as store:  # settled: the hand edit is taken back
        store.execute("UPDATE company SET street = 'Storgata 1' WHERE company_id = 2")
    done = _undo(db, s["run_id"])
    assert done.status == "undone" and done.conflicts.height == 0
    assert table_hashes(db) == before
    assert _undo(db, s["run_id"]).status == "noop"


def test_undo_never_puts_a_value_on_an_owner_that_is_gone(tmp_path, db):
    """(issue 22 #5) A run replaced Ola's mobile; then the record was deleted (selection
    delete); undoing the run must not bring back a phone without its person."""
    from transforms.selection import delete_selection

    _crm(db)
    f = write_csv(tmp_path / "m.csv", ["Company", "First name", "Last name", "Mobile"],
                  [["ACME Inc.", "Ola", "Nordmann", "900 00 009"]])
    s = run_import(f, db, {"lists": {"phones": "replace"}})
    with open_crm(str(db)) as store:
        delete_selection(store, f"{s['run_id']}-updated")
    result = _undo(db, s["run_id"])
    assert ("phone", "its owner is gone: not put back") in {
        (c["entity"], c["reason"]) for c in result.conflicts.rows(named=True)}
    orphans = table(db, "SELECT count(*) FROM phone ph WHERE ph.owner_kind = 'person' AND NOT "
                        "EXISTS (SELECT 1 FROM person p WHERE p.person_id = ph.owner_id)").item()
    assert orphans == 0


def test_undo_never_puts_back_a_second_copy_of_a_value(tmp_path, db):
    """(issue 22 #5) A run replaced Ola's e-mail; a later run added the old one again;
    undoing the first must not leave Ola with the address twice."""
    _crm(db)
    replace = write_csv(tmp_path / "r.csv", ["Company", "First name", "Last name", "Email"],
                        [["ACME Inc.", "Ola", "Nordmann", "ola.new@acme.no"]])
    first = run_import(replace, db, {"lists": {"urls_emails": "replace"}})
    back = write_csv(tmp_path / "b.csv", ["Company", "First name", "Last name", "Email"],
                     [["ACME Inc.", "Ola", "Nordmann", "ola@acme.no"]])
    run_import(back, db)  # adds the old address again
    result = _undo(db, first["run_id"])
    assert ("email", "its owner has the same value again: not put back twice") in {
        (c["entity"], c["reason"]) for c in result.conflicts.rows(named=True)}
    assert table(db, "SELECT address FROM email WHERE owner_kind = 'person' AND owner_id = 1 "
                     "ORDER BY address").rows() == [("ola@acme.no",)]
