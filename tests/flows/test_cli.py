"""End to end: the installed `crm-import` command on a temporary database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, seed, table, write_xlsx

pytestmark = pytest.mark.both_stores

CLI = [str(Path(sys.executable).parent / "crm-import")]


def cli(*args: str, db: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    argv = [*CLI, *args, *(["--db", str(db)] if db else [])]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def _contacts(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "kunder.xlsx",
                      ["Firma", "Org.nr", "Adresse", "Postnr", "Sted", "Fornavn", "Etternavn",
                       "E-post", "Mobil"], [
        ["Nordlys AS", "923 609 016", "Storgata 1", "0150", "Oslo", "Kari", "Nordmann",
         "kari@nordlys.no", "900 11 222"],
        ["Nordlys AS", "923 609 016", "Storgata 1", "0150", "Oslo", "Ola", "Hansen",
         "ola(at)nordlys.no", ""],
        ["", "", "", "", "", "Eva", "Lund", "eva@example.no", "+46 70 123 45 67"],
    ], title="Kundeliste 2026")


def test_run_json_summary_and_tables(tmp_path, db):
    started = time.perf_counter()
    done = cli("run", str(_contacts(tmp_path)), "--json", "--settings",
               str(_settings(tmp_path, '[person]\nmatch = "email"\n')), db=db)
    elapsed = time.perf_counter() - started
    s = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert set(s) >= {"run_id", "status", "source", "file", "rows", "company", "person", "product",
                      "selections", "warnings", "errors"}
    assert s["status"] == "completed" and s["source"] == "excel"
    assert s["rows"] == {"read": 3, "rejected": 1}  # the bad email is the match key: rejected
    assert s["company"]["new"] == 2  # Nordlys AS, and one named after Eva Lund
    assert s["person"]["new"] == 2
    assert s["selections"]["new"] == f"{s['run_id']}-new"
    assert table(db, "SELECT postcode FROM company WHERE name = 'Nordlys AS'").item() == "0150"
    rej = table(db, 'SELECT source_row, "column" FROM staging.rejects').rows()
    assert rej == [(5, "E-post")]  # Excel row 5: title, blank, header, then rows 4..6
    phones = table(db, "SELECT number, number_e164 FROM phone ORDER BY number").rows()
    assert phones == [("+46 70 123 45 67", "+46701234567"), ("900 11 222", "+4790011222")]
    print(f"3-row CLI import: {elapsed:.2f} s wall")  # measured, not asserted (noisy machines)


def _settings(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "settings.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_runs_show_selection_and_rejects(tmp_path, db):
    s = json.loads(cli("run", str(_contacts(tmp_path)), "--json", db=db).stdout)
    runs = json.loads(cli("runs", "--json", db=db).stdout)["runs"]
    assert [r["run_id"] for r in runs] == [s["run_id"]]
    shown = json.loads(cli("show", s["run_id"], "--rejects", "--json", db=db).stdout)
    assert shown["company"] == s["company"] and shown["rejects"] == []
    members = json.loads(cli("selection", "show", s["selections"]["new"], "--json", db=db).stdout)
    names = {m["name"] for m in members["members"]}
    assert {"Nordlys AS", "Kari Nordmann", "Ola Hansen", "Eva Lund"} <= names
    text = cli("show", s["run_id"], db=db).stdout
    assert "completed" in text and "company" in text


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_terminal_tables_show_the_json_facts(tmp_path, db):
    """`runs` and `show` print, as tables, the same counts their --json gives."""
    cli("run", str(_contacts(tmp_path)), "--json", "--settings",
        str(_settings(tmp_path, '[person]\nmatch = "email"\n')), db=db)
    run = json.loads(cli("runs", "--json", db=db).stdout)["runs"][0]
    lines = cli("runs", db=db).stdout.splitlines()
    heads = _cells(next(ln for ln in lines if ln.strip().startswith("run_id")))
    row = dict(zip(heads, _cells(next(ln for ln in lines if run["run_id"] in ln)), strict=True))
    assert row == {"run_id": run["run_id"], "started": f"{run['started_at']:%Y-%m-%d %H:%M}"
                   if not isinstance(run["started_at"], str) else row["started"],
                   "status": run["status"], "source": run["source"], "file": "kunder.xlsx",
                   "rows": str(run["rows_read"]), "rejected": str(run["rows_rejected"]),
                   "companies": f"+{run['company_new']} ~{run['company_updated']}",
                   "persons": f"+{run['person_new']} ~{run['person_updated']}"}
    assert row["started"] == run["started_at"][:16].replace("T", " ")
    shown = json.loads(cli("show", run["run_id"], "--rejects", "--json", db=db).stdout)
    text = cli("show", run["run_id"], "--rejects", db=db).stdout
    for entity in ("company", "person"):
        counts = next(ln.split() for ln in text.splitlines() if ln.split()[:1] == [entity])
        assert counts[1:] == [str(v) for v in shown[entity].values()]
    reject = shown["rejects"][0]
    assert re.search(rf"^{reject['row']}\s+{re.escape(reject['column'])}\s", text, re.M)


@pytest.mark.parametrize("columns", [80, 120])
def test_the_runs_table_fits_the_terminal(tmp_path, db, columns):
    """Never wider than the terminal, no column squeezed to nothing: columns are left out
    by priority (and said), a long file name is cut with an ellipsis."""
    long_name = tmp_path / ("kundeliste eksportert fra regnskapssystemet " * 2 + ".xlsx")
    _contacts(tmp_path).rename(long_name)
    cli("run", str(long_name), "--json", db=db)
    cli("run", str(_contacts(tmp_path)), "--json", db=db)
    runs = json.loads(cli("runs", "--json", db=db).stdout)["runs"]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {
        "COLUMNS": str(columns)}
    out = subprocess.run([*CLI, "runs", "--db", str(db)], capture_output=True, text=True,
                         env=env, cwd=REPO, check=True).stdout
    lines = out.splitlines()
    assert max(len(ln) for ln in lines) <= columns
    heads = _cells(next(ln for ln in lines if ln.strip().startswith("run_id")))
    assert {"run_id", "status", "file", "companies", "persons", "rows"} <= set(heads)
    if columns >= 120:
        assert {"started", "source", "rejected"} <= set(heads)
    else:
        assert "too narrow for" in out  # what was left out is said
    for run in runs:
        row = dict(zip(heads, _cells(next(ln for ln in lines if run["run_id"] in ln)),
                       strict=True))
        assert row["status"] == run["status"]
        assert row["companies"] == f"+{run['company_new']} ~{run['company_updated']}"
        name = Path(run["file"]).name
        assert row["file"] == name or (row["file"].endswith("…") and len(row["file"]) >= 8
                                       and name.startswith(row["file"][:-1]))


def test_show_changes_of_a_preview_old_to_new(tmp_path, db):
    """A preview shows what it would change without SQL: per record, field, old → new."""
    seed(db, companies=[{"company_id": 1, "name": "Nordlys AS", "city": "Bergen",
                         "street": None}])
    f = str(_contacts(tmp_path))
    preview = json.loads(cli("run", f, "--dry-run", "--json", "--settings",
                             str(_settings(tmp_path, '[company]\naction = "replace"\n')),
                             db=db).stdout)
    shown = json.loads(cli("show", preview["run_id"], "--changes", "--json", db=db).stdout)
    changes = {(c["entity"], c["crm_id"], c["field"]): (c["old_value"], c["new_value"])
               for c in shown["changes"]}
    assert changes[("company", 1, "city")] == ("Bergen", "Oslo")
    assert changes[("company", 1, "street")] == (None, "Storgata 1")
    assert {c["record"] for c in shown["changes"] if c["entity"] == "company"} == {"Nordlys AS"}
    text = cli("show", "last", "--changes", db=db).stdout
    there = [c for c in shown["changes"] if c["crm_id"] is not None]
    assert f"would change {len(there)} values in 1 record that was there:" in text
    if len(there) < len(shown["changes"]):  # values of the new records: --json has them
        assert f"(and {len(shown['changes']) - len(there)} values of new records" in text
    assert re.search(r"^  company 1 Nordlys AS \(row \d+\)$", text, re.M)
    assert "    city: Bergen → Oslo" in text and "    street: (empty) → Storgata 1" in text
    assert table(db, "SELECT city FROM company").item() == "Bergen"  # a preview: nothing done


def test_dry_run_then_run(tmp_path, db):
    f = str(_contacts(tmp_path))
    preview = json.loads(cli("run", f, "--dry-run", "--json", db=db).stdout)
    assert preview["status"] == "preview"
    assert table(db, "SELECT count(*) FROM company").item() == 0
    real = json.loads(cli("run", f, "--exclude-rows", "6", "--json", db=db).stdout)
    assert real["status"] == "completed" and real["rows"]["excluded"] == 1
    assert real["person"]["new"] == preview["person"]["new"] - 1


def test_failed_run_prints_one_json_object_and_exits_non_zero(tmp_path, db):
    done = cli("run", str(tmp_path / "missing.xlsx"), "--json", db=db, check=False)
    assert done.returncode != 0
    s = json.loads(done.stdout)
    assert s["status"] == "failed" and "missing.xlsx" in s["errors"][0]
    assert "Traceback" not in done.stderr


def test_user_errors_are_one_message_without_traceback(tmp_path):
    bad = _settings(tmp_path, '[company]\naction = "upsert"\n')
    done = cli("run", str(_contacts(tmp_path)), "--settings", str(bad), db=tmp_path / "x.duckdb",
               check=False)
    assert done.returncode == 2
    assert "company.action" in done.stderr and "add, merge, replace, skip" in done.stderr
    assert "Traceback" not in done.stderr
    done = cli("show", "r-nope", db=tmp_path / "x.duckdb", check=False)
    assert done.returncode == 2 and "no run 'r-nope'" in done.stderr


@pytest.mark.duckdb_only
def test_locked_database_is_reported(tmp_path, db):
    holder = duckdb.connect(str(db))  # another process holds the file
    try:
        done = cli("run", str(_contacts(tmp_path)), "--json", db=db, check=False)
    finally:
        holder.close()
    assert done.returncode != 0
    assert "cannot open the CRM database" in json.loads(done.stdout)["errors"][0]


def test_mapping_command_writes_a_usable_file(tmp_path):
    f = write_xlsx(tmp_path / "x.xlsx", ["Kundenavn", "Internal ref", "Etternavn"],
                   [["ACME", "x1", "Nordmann"]])
    out = tmp_path / "m.toml"
    done = cli("mapping", str(f), "-o", str(out))
    assert "Kundenavn" in done.stdout and "company_name" in done.stdout
    assert '"Internal ref" = ""' in out.read_text(encoding="utf-8")
    mapped = json.loads(cli("mapping", str(f), "--mapping", str(out), "--json").stdout)
    assert mapped["columns"] == {"Kundenavn": "company_name", "Etternavn": "person_last_name"}


def test_env_var_selects_the_database(tmp_path):
    db = tmp_path / "env.duckdb"
    env = {**{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}, "CRM_IMPORT_DB": str(db)}
    subprocess.run([*CLI, "run", str(_contacts(tmp_path)), "--json"], env=env, check=True,
                   capture_output=True, cwd=tmp_path, timeout=120)
    assert table(db, "SELECT count(*) FROM company").item() == 2


def test_demo(tmp_path):
    db = tmp_path / "demo.duckdb"
    s = json.loads(cli("demo", "--json", db=db).stdout)
    assert s["status"] == "completed"
    assert s["company"] == {"new": 3, "updated": 1, "unchanged": 2, "skipped": 0, "ambiguous": 0}
    assert s["person"]["new"] == 6 and s["rows"]["rejected"] == 1
    text = cli("demo", db=db).stdout  # runs again on a fresh demo database
    assert "completed" in text and "seeded with 5 companies" in text


@pytest.mark.parametrize("flag", ["--help"])
def test_help(flag):
    out = cli(flag).stdout
    for command in ("run", "runs", "show", "selection", "mapping", "demo"):
        assert command in out


def test_products_and_template_commands(tmp_path, db):
    nw = str(REPO.parent / "shared" / "fixtures" / "erp" / "northwind_neo4j_products.csv")
    s = json.loads(cli("products", nw, "--price-list", "Northwind", "--json", db=db).stdout)
    assert s["status"] == "completed" and s["product"]["new"] == 77 and s["price_list"] == "Northwind"
    sel = json.loads(cli("selection", "show", s["selections"]["new"], "--json", db=db).stdout)
    assert len(sel["members"]) == 77
    out = tmp_path / "products.xlsx"
    done = json.loads(cli("template", "products", "-o", str(out), "--json", db=db).stdout)
    assert done["columns"][:3] == ["In assortment", "Code", "Name"] and out.exists()
    empty = cli("products", str(out), "--json", db=db, check=False)
    assert empty.returncode != 0 and "no rows" in json.loads(empty.stdout)["errors"][0]
    mapped = json.loads(cli("mapping", str(out), "--kind", "products", "--json").stdout)
    assert mapped["unmapped"] == []
