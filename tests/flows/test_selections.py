"""Selections (show, export, delete + undo), the rejects file round trip, purge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fastexcel
import polars as pl
import pytest

from tests.conftest import REPO, table, table_hashes, write_csv

pytestmark = pytest.mark.both_stores

CLI = str(Path(sys.executable).parent / "crm-import")
def cli(*args, db, check=True):
    # (the environment as the test has it: a server CRM's staging file is the test's own)
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "CRM_IMPORT_FAIL_AT")}
    done = subprocess.run([CLI, *args, "--db", str(db)], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120)
    if check and done.returncode:
        raise AssertionError(done.stdout + done.stderr)
    return done


def _import(tmp_path, db, rows, settings=None):
    f = write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Email", "Mobile"], rows)
    argv = ["run", str(f), "--json"]
    if settings:
        (tmp_path / "s.toml").write_text(settings, encoding="utf-8")
        argv += ["--settings", str(tmp_path / "s.toml")]
    return json.loads(cli(*argv, db=db).stdout)


ROWS = [["ACME AS", "Ola", "Nordmann", "ola@acme.no", "900 11 222"],
        ["ACME AS", "Kari", "Hansen", "=HYPERLINK(\"http://x\")", ""],
        ["Beta AS", "Per", "Berg", "-per@beta.no", "+47 41 00 00 00"]]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_selection_export(tmp_path, suffix, db):
    s = _import(tmp_path, db, ROWS)
    out = tmp_path / f"new{suffix}"
    done = json.loads(cli("selection", "export", s["selections"]["new"], "-o", str(out), "--json",
                          db=db).stdout)
    assert done["rows"] == 5  # 2 companies + 3 persons
    frame = (pl.read_csv(out, infer_schema=False, skip_rows=1) if suffix == ".csv"  # (the note)
             else fastexcel.read_excel(str(out)).load_sheet(0, dtypes="string").to_polars())
    assert frame.height == 5
    ola = frame.filter(pl.col("first_name") == "Ola").row(0, named=True)
    assert (ola["company"], ola["emails"], ola["phones"]) == ("ACME AS", "ola@acme.no", "900 11 222")


def test_exports_never_carry_a_live_formula(tmp_path):
    from transforms.export import write_table

    risky = pl.DataFrame({"v": ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain"]})
    write_table(risky, tmp_path / "r.xlsx")
    write_table(risky, tmp_path / "r.csv")
    import zipfile

    sheet = zipfile.ZipFile(tmp_path / "r.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula element anywhere
    text = (tmp_path / "r.csv").read_text(encoding="utf-8")
    for v in ("'=1+1", "'+1", "'-1", "'@SUM(A1)"):
        assert v in text
    assert "\nplain" in text


def test_selection_delete_and_undo_of_the_delete(tmp_path, db):
    s = _import(tmp_path, db, ROWS)
    after_import = table_hashes(db)
    preview = json.loads(cli("selection", "delete", s["selections"]["new"], "--dry-run", "--json",
                             db=db).stdout)
    assert preview["deleted"] == {"company": 2, "person": 3}
    assert table_hashes(db) == after_import
    done = json.loads(cli("selection", "delete", s["selections"]["new"], "--json", db=db).stdout)
    assert table(db, "SELECT count(*) FROM company").item() == 0
    assert table(db, "SELECT count(*) FROM email").item() == 0
    undone = json.loads(cli("undo", done["run_id"], "--json", db=db).stdout)
    assert undone["status"] == "undone"
    assert table_hashes(db)["company"] == after_import["company"]
    assert table_hashes(db)["person"] == after_import["person"]
    assert table_hashes(db)["email"] == after_import["email"]
    # and their places in the run's selection (issue 17 §6: `selection show …-new` was empty)
    shown = json.loads(cli("selection", "show", s["selections"]["new"], "--json", db=db).stdout)
    assert len(shown["members"]) == 5


def test_an_undone_run_offers_its_records_to_no_selection_delete(tmp_path, db):
    """(issue 17 §6) After undo, `selection delete RUN-updated` would have deleted records
    that were there before the run."""
    first = _import(tmp_path, db, ROWS[:1])
    second = _import(tmp_path, db, [["ACME AS", "Ola", "Nordmann", "ola@acme.no",
                                     "900 11 333"]])
    assert second["person"]["updated"] == 1
    cli("undo", second["run_id"], "--json", db=db)
    for kind in ("new", "updated"):
        shown = json.loads(cli("selection", "show", second["selections"][kind], "--json",
                               db=db).stdout)
        assert shown["members"] == [], kind
    preview = json.loads(cli("selection", "delete", second["selections"]["updated"],
                             "--dry-run", "--json", db=db).stdout)
    assert preview["deleted"] == {"company": 0, "person": 0}
    kept = json.loads(cli("selection", "show", first["selections"]["new"], "--json",
                          db=db).stdout)
    assert len(kept["members"]) == 2


def test_rejects_file_round_trip(tmp_path, db):
    settings = '[person]\nmatch = "email"\n[import]\nmax_rejects = 0.9\n'
    rows = [["ACME AS", "Ola", "Nordmann", "ola@acme.no", ""],
            ["Beta AS", "Kari", "Hansen", "kari(at)beta.no", ""],
            ["Gamma AS", "Per", "Berg", "=per@gamma", ""]]
    s = _import(tmp_path, db, rows, settings)
    assert s["rows"]["rejected"] == 2
    out = tmp_path / "rejects.xlsx"
    cli("show", s["run_id"], "--rejects", "-o", str(out), db=db)
    fixed = fastexcel.read_excel(str(out)).load_sheet(0, dtypes="string").to_polars()
    assert fixed.columns == ["Company", "First name", "Last name", "Email", "Mobile", "row", "column", "reason"]
    assert fixed["row"].to_list() == ["3", "4"] and set(fixed["column"]) == {"Email"}
    assert fixed["Email"].to_list() == ["kari(at)beta.no", "=per@gamma"]  # as it came, as text
    # the person fixes the cells and imports the same file again
    fixed = fixed.with_columns(pl.Series("Email", ["kari@beta.no", "per@gamma.no"]))
    fixed.write_csv(tmp_path / "fixed.csv")
    again = json.loads(cli("run", str(tmp_path / "fixed.csv"), "--json", "--settings",
                           str(tmp_path / "s.toml"), db=db).stdout)
    assert again["rows"] == {"read": 2, "rejected": 0}
    assert again["person"]["new"] == 2
    assert set(again["mapping"]["unmapped"]) == {"row", "column", "reason"}


def test_a_csv_rejects_file_comes_back_without_the_apostrophes_it_got(tmp_path, db):
    """(issue 22 #10: `'=1+1 note` was stored, apostrophe and all) Our own CSV export says
    so on its first line; read back, the apostrophes it added come off — only there."""
    settings = '[person]\nmatch = "email"\n[import]\nmax_rejects = 0.9\n'
    rows = [["ACME AS", "Ola", "Nordmann", "ola@acme.no", ""],
            ["=Beta AS", "Kari", "Hansen", "kari(at)beta.no", ""]]
    s = _import(tmp_path, db, rows, settings)
    out = tmp_path / "rejects.csv"
    cli("show", s["run_id"], "--rejects", "-o", str(out), db=db)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# crm-import export:") and "'=Beta AS" in text
    fixed = text.replace("kari(at)beta.no", "kari@beta.no")
    (tmp_path / "fixed.csv").write_text(fixed, encoding="utf-8")
    again = json.loads(cli("run", str(tmp_path / "fixed.csv"), "--json", "--settings",
                           str(tmp_path / "s.toml"), db=db).stdout)
    assert again["rows"] == {"read": 1, "rejected": 0}
    assert table(db, "SELECT name FROM company ORDER BY name").rows() == [("=Beta AS",),
                                                                         ("ACME AS",)]
    # a leading apostrophe in a file that is not our export is the value
    (tmp_path / "theirs.csv").write_text("Company,First name,Last name,Email\n"
                                         "'=Gamma AS,Per,Berg,per@gamma.no\n", encoding="utf-8")
    cli("run", str(tmp_path / "theirs.csv"), "--settings", str(tmp_path / "s.toml"), db=db)
    assert ("'=Gamma AS",) in table(db, "SELECT name FROM company").rows()


def test_purge_command(tmp_path, db):
    s = _import(tmp_path, db, ROWS)
    kept = json.loads(cli("purge", "--older-than", "90d", "--json", db=db).stdout)
    assert kept["runs"] == []
    gone = json.loads(cli("purge", "--older-than", "0h", "--json", db=db).stdout)
    assert gone["runs"] == [s["run_id"]]
    assert table(db, "SELECT count(*) FROM staging.canonical").item() == 0
    refused = cli("undo", s["run_id"], "--json", db=db, check=False)
    assert refused.returncode != 0 and "can no longer be undone" in json.loads(refused.stdout)["errors"][0]
    bad = cli("purge", "--older-than", "soon", db=db, check=False)
    assert bad.returncode == 2 and "not an age" in bad.stderr


def test_purge_scrubs_summaries_and_compact_leaves_no_trace_in_the_file(tmp_path, db):
    """(issue 22 #17: purged values stayed readable in the DuckDB file's free blocks, and in
    the summaries of purged runs)"""
    settings = '[person]\nmatch = "email"\n[import]\nmax_rejects = 0.9\n'
    rows = [["ACME AS", "Ola", "Nordmann", "ola@acme.no", ""],
            ["Beta AS", "Zorro", "Xylofon", "zorro.xylofon(at)beta-7731", ""]]
    s = _import(tmp_path, db, rows, settings)
    assert s["rows"]["rejected"] == 1
    done = json.loads(cli("purge", "--older-than", "0h", "--compact", "--json", db=db).stdout)
    assert done["runs"] == [s["run_id"]] and "rewritten" in done["compacted"]
    shown = json.loads(cli("show", s["run_id"], "--json", db=db).stdout)
    assert shown["purged"] is True
    assert {w["message"] for w in shown["warnings"]} <= {"(purged)"}
    staging_file = Path(os.environ["CRM_IMPORT_STAGING"]) if not isinstance(db, Path) else db
    data = staging_file.read_bytes()
    assert b"beta-7731" not in data and b"Xylofon" not in data  # staging only held them
    again = _import(tmp_path, db, rows[:1], "")  # the CRM works on after the rewrite
    assert again["status"] == "completed"
