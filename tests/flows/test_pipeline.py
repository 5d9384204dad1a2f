"""The pipeline as a whole: preview, excluded rows, idempotency, all-or-nothing."""

from __future__ import annotations

import pytest

import transforms.apply as apply_module
from flows.pipeline import ImportRequest, import_contacts
from tests.conftest import run_import, seed, snapshot, table, write_csv

pytestmark = pytest.mark.both_stores


def _file(tmp_path):
    return write_csv(tmp_path / "in.csv", ["Company", "Address", "First name", "Last name", "Mobile",
                                           "Email", "Category"], [
        ["ACME Inc.", "Broadway 123", "Ola", "Nordmann", "900 11 222", "ola@acme.no", "VIP"],
        ["ACME Inc.", "", "Kari", "Hansen", "", "kari@acme.no", ""],
        ["Beta AS", "Storgata 1", "Per", "Berg", "+47 41 00 00 00", "", "Partner"],
        ["", "", "Eva", "Lund", "", "eva@example.no", ""],
    ])


def _seeded(db):
    seed(db, companies=[{"company_id": 1, "name": "ACME Inc.", "street": None, "code": "A1"}],
         persons=[{"person_id": 1, "company_id": 1, "first_name": "Ola", "last_name": "Nordmann"}])


def test_dry_run_plans_everything_and_changes_no_crm_table(tmp_path, db):
    _seeded(db)
    before = snapshot(db)
    s = run_import(_file(tmp_path), db, dry_run=True)
    assert s["status"] == "preview"
    assert s["company"]["updated"] == 1 and s["company"]["new"] == 2
    assert s["selections"] == {"new": None, "updated": None}
    assert snapshot(db) == before
    assert table(db, "SELECT count(*) FROM selection").item() == 0
    assert table(db, "SELECT status FROM import_run").item() == "preview"
    # per-row outcomes and field-level old/new values are staged
    plan = table(db, "SELECT source_row, entity, outcome FROM staging.plan ORDER BY 1, 2").rows()
    assert plan[:2] == [(2, "company", "updated"), (2, "person", "updated")]
    change = table(db, "SELECT entity, crm_id, field, old_value, new_value FROM staging.changes "
                       "WHERE field = 'street'").rows()
    assert change == [("company", 1, "street", None, "Broadway 123")]
    # the real run plans afresh and lands the same counts
    real = run_import(_file(tmp_path), db)
    assert {k: real[k] for k in ("company", "person")} == {k: s[k] for k in ("company", "person")}


def test_exclude_rows(tmp_path, db):
    s = run_import(_file(tmp_path), db, exclude_rows=(3, 4))
    assert s["rows"] == {"read": 4, "rejected": 0, "excluded": 2}
    names = {n for (n,) in table(db, "SELECT name FROM company").rows()}
    assert names == {"ACME Inc.", "Eva Lund"}


def test_second_identical_merge_changes_nothing(tmp_path, db):
    _seeded(db)
    first = run_import(_file(tmp_path), db)
    assert first["status"] == "completed"
    after_first = snapshot(db)
    second = run_import(_file(tmp_path), db)
    assert second["company"]["new"] == second["company"]["updated"] == 0
    assert second["person"]["new"] == second["person"]["updated"] == 0
    assert snapshot(db) == after_first


def test_failure_inside_the_load_leaves_the_crm_as_it_was(tmp_path, db, monkeypatch):
    _seeded(db)
    before = snapshot(db)
    original = apply_module._selections

    def explode(*args, **kwargs):  # after companies, persons and values were written
        original(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply_module, "_selections", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        import_contacts(ImportRequest(file=str(_file(tmp_path)), db=str(db)))
    assert snapshot(db) == before
    assert table(db, "SELECT count(*) FROM change_log").item() == 0
    assert table(db, "SELECT status FROM import_run").item() == "failed"


def test_run_record_selections_and_change_log(tmp_path, db):
    _seeded(db)
    s = run_import(_file(tmp_path), db)
    run = table(db, "SELECT status, rows_read, company_new, company_updated, person_new, "
                    "file_sha256 FROM import_run WHERE run_id = ?", [s["run_id"]]).row(0)
    assert run[:5] == ("completed", 4, 2, 1, 3) and len(run[5]) == 64
    members = table(db, "SELECT selection_id, entity, count(*) FROM selection_member "
                        "GROUP BY 1, 2 ORDER BY 1, 2").rows()
    assert members == [(f"{s['run_id']}-new", "company", 2), (f"{s['run_id']}-new", "person", 3),
                       (f"{s['run_id']}-updated", "company", 1),
                       (f"{s['run_id']}-updated", "person", 1)]
    inserts = table(db, "SELECT entity, count(*) FROM change_log WHERE op = 'insert' "
                        "GROUP BY 1 ORDER BY 1").rows()
    assert dict(inserts) == {"company": 2, "email": 3, "list_item": 2, "person": 3, "phone": 2}
