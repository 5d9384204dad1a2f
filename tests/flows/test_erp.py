"""ERP actors: the Northwind sample as SQLite, PostgreSQL and CSV export; re-sync by ERP key."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from contracts.settings import parse_settings
from flows.config import open_crm
from flows.pipeline import ImportRequest, import_file
from tests.conftest import FIXTURES, REPO, seed, table, table_hashes
from transforms.erp import ErpRequest, build_sample
from transforms.store import SCHEMA_VERSION

DUMP = FIXTURES / "erp" / "northwind_psql_pthom.sql"
CLI = str(Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "crm-import")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("erp") / "northwind.sqlite"
    counts = build_sample(DUMP, out)
    assert (counts["customers"], counts["suppliers"], counts["employees"]) == (91, 29, 9)
    return out


@pytest.fixture
def erp_copy(sample: Path, tmp_path: Path) -> Path:
    """A copy of the sample ERP a test may change."""
    return Path(shutil.copy(sample, tmp_path / "erp.sqlite"))


def erp_import(connection, db, actor="customers", *, where=(), settings=None, profile="northwind",
               **kw):
    req = ImportRequest(file=str(connection), db=str(db), source="erp",
                        settings=parse_settings(settings or {}),
                        erp=ErpRequest(str(connection), actor, profile, tuple(where)), **kw)
    return import_file(req)


def test_an_erp_file_name_with_uri_characters_is_that_file(sample: Path, tmp_path: Path):
    """(issue 22 #9: `north#wind.sqlite` was opened as `north`)"""
    odd = Path(shutil.copy(sample, tmp_path / "north#wind 100%?.sqlite"))
    (tmp_path / "north").write_bytes(b"")  # what the unquoted URI named
    s = erp_import(odd, tmp_path / "crm.duckdb", dry_run=True)
    assert s["status"] == "preview" and s["rows"]["read"] == 91, s["errors"]


def test_customers_become_companies_with_their_contact(sample: Path, db: Path):
    s = erp_import(sample, db)
    assert s["status"] == "completed", s["errors"]
    assert s["source"] == "erp" and s["rows"]["read"] == 91
    assert (s["company"]["new"], s["person"]["new"]) == (91, 91)
    # the ERP's own key, and what kind of actor it is (issue 17 §7)
    crm = table(db, "SELECT c.name, c.erp_system, c.erp_entity, c.erp_key, p.first_name, "
                    "p.last_name, p.position, p.erp_entity AS pe, p.erp_key AS person_key "
                    "FROM company c JOIN person p USING (company_id) WHERE c.erp_key = 'ALFKI'")
    assert crm.rows() == [("Alfreds Futterkiste", "northwind", "customers", "ALFKI", "Maria",
                           "Anders", "Sales Representative", "customers.contact", "ALFKI")]
    # the phone is read in the company's own country (Germany), not the default region
    assert table(db, "SELECT number_e164 FROM phone WHERE number = '030-0074321'")[
        "number_e164"].to_list() == ["+49300074321"]
    assert s["erp"]["gone"] == []


def test_suppliers_and_individuals(sample: Path, db: Path):
    s = erp_import(sample, db, "suppliers")
    assert (s["rows"]["read"], s["company"]["new"], s["person"]["new"]) == (29, 29, 29)
    e = erp_import(sample, db, "individuals")
    assert (e["rows"]["read"], e["company"]["new"], e["person"]["new"]) == (9, 0, 9)
    # individuals come without company (the northwind profile names none)
    assert table(db, "SELECT count(*) AS n FROM person WHERE erp_entity = 'individuals' "
                     "AND company_id IS NULL")["n"][0] == 9
    # an employee and a supplier may share a key: each is found by its own kind
    again = erp_import(sample, db, "individuals")
    assert (again["person"]["new"], again["person"]["unchanged"]) == (0, 9)


def test_where_restricts_and_is_bound(sample: Path, db: Path):
    s = erp_import(sample, db, where=[("city", "London")])
    assert s["rows"]["read"] == s["company"]["new"] == 6
    assert set(table(db, "SELECT city FROM company")["city"]) == {"London"}
    assert s["erp"]["gone"] is None  # a filtered read cannot tell what is gone
    both = erp_import(sample, db, where=[("city", "London"), ("contact_title", "Sales Representative")])
    assert both["rows"]["read"] == 3


def test_resync_updates_by_key_even_when_renamed(erp_copy: Path, db: Path):
    first = erp_import(erp_copy, db)
    assert first["company"]["new"] == 91
    with sqlite3.connect(erp_copy) as con:
        con.execute("UPDATE customers SET company_name = 'Alfreds Feinkost GmbH', "
                    "phone = '030-1234567' WHERE customer_id = 'ALFKI'")
    merged = erp_import(erp_copy, db)
    assert merged["company"] == {"new": 0, "updated": 1, "unchanged": 90, "skipped": 0,
                                 "ambiguous": 0}
    alfki = "SELECT c.name, list(p.number ORDER BY p.number) AS phones FROM company c " \
            "JOIN phone p ON p.owner_kind = 'company' AND p.owner_id = c.company_id AND " \
            "p.kind = 'phone' WHERE c.erp_key = 'ALFKI' GROUP BY c.name"
    # merge keeps the CRM's name and adds the new phone
    assert table(db, alfki).rows() == [("Alfreds Futterkiste", ["030-0074321", "030-1234567"])]
    replaced = erp_import(erp_copy, db, settings={"company": {"action": "replace"},
                                                  "lists": {"phones": "replace"}})
    assert replaced["company"]["new"] == 0 and replaced["company"]["updated"] == 1
    assert table(db, alfki).rows() == [("Alfreds Feinkost GmbH", ["030-1234567"])]
    again = erp_import(erp_copy, db, settings={"company": {"action": "replace"},
                                               "lists": {"phones": "replace"}})
    assert again["company"]["unchanged"] == 91
    assert table(db, "SELECT count(*) AS n FROM company")["n"][0] == 91


def test_an_existing_company_is_linked_by_name(sample: Path, db: Path):
    seed(db, companies=[{"company_id": 500, "name": "Alfreds Futterkiste"}])
    s = erp_import(sample, db)
    assert (s["company"]["new"], s["company"]["updated"]) == (90, 1)
    assert table(db, "SELECT erp_system, erp_entity, erp_key FROM company "
                     "WHERE company_id = 500").rows() == [("northwind", "customers", "ALFKI")]
    assert erp_import(sample, db)["company"]["unchanged"] == 91  # found by its key now


def test_actors_gone_from_the_erp_are_reported_not_deleted(erp_copy: Path, db: Path):
    erp_import(erp_copy, db)
    with sqlite3.connect(erp_copy) as con:
        con.execute("DELETE FROM customers WHERE customer_id IN ('ALFKI', 'WOLZA')")
    s = erp_import(erp_copy, db)
    assert s["erp"]["gone"] == ["ALFKI", "WOLZA"]
    assert any(w["code"] == "erp_gone" for w in s["warnings"])
    assert table(db, "SELECT count(*) AS n FROM company")["n"][0] == 91


def test_csv_export_with_ragged_rows_is_reported_row_by_row(sample: Path, db: Path, tmp_path):
    """The neo4j export has unquoted commas in 24 rows: rejected one by one, not guessed."""
    profile = tmp_path / "neo4j.toml"
    profile.write_text('system = "northwind"\n[actors.customers]\ntable = "customers"\n'
                       'key = "customerID"\n[actors.customers.columns]\n'
                       'company_name = "companyName"\ncompany_city = "city"\n'
                       'company_phone = "phone"\nperson_full_name = "contactName"\n',
                       encoding="utf-8")
    export = FIXTURES / "erp" / "northwind_neo4j_customers.csv"
    s = erp_import(export, db, profile=str(profile))
    assert s["status"] == "completed", s["errors"]
    assert (s["rows"]["read"], s["rows"]["rejected"], s["company"]["new"]) == (91, 24, 67)
    # the same actors from the SQLite copy: found by their keys, the 24 others are new
    again = erp_import(sample, db)
    assert (again["company"]["new"], again["company"]["unchanged"] + again["company"]["updated"]) \
        == (24, 67)


@pytest.fixture(scope="module")
def postgres(pg_server):
    return pg_server  # the session's throwaway server (tests/conftest.py)


def test_postgresql_erp_gives_the_same_companies(postgres, sample: Path, tmp_path: Path):
    url = postgres.create_database("northwind_erp", DUMP)
    lite, pg = tmp_path / "lite.duckdb", tmp_path / "pg.duckdb"
    a = erp_import(sample, lite)
    b = erp_import(url, pg)
    assert b["status"] == "completed", b["errors"]
    assert "@" in b["file"] and b["source"] == "erp"
    cols = "SELECT name, street, postcode, city, country, erp_system, erp_key FROM company " \
           "ORDER BY erp_key"
    assert table(lite, cols).rows() == table(pg, cols).rows()
    assert a["company"] == b["company"]
    # the PostgreSQL original after the SQLite copy: the same records, none new
    c = erp_import(url, lite)
    assert c["company"]["new"] == 0 and c["company"]["unchanged"] == 91
    assert erp_import(url, pg, where=[("city", "London")])["rows"]["read"] == 6


# --- bad input: one clear error, nothing applied --------------------------------------------


def _cli(*args: str, db: Path) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    done = subprocess.run([CLI, "erp", *args, "--db", str(db), "--json"], capture_output=True,
                          text=True, env=env, timeout=120, cwd=REPO)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("args,message", [
    (["--actor-type", "partners", "--profile", "northwind"], "unknown actor type 'partners'"),
    (["--actor-type", "customers", "--profile", "nosuch"], "no such profile"),
    (["--actor-type", "customers", "--profile", "northwind", "--where", "colour=red"],
     "not a field of these actors"),
    (["--actor-type", "customers", "--profile", "northwind", "--where", "city"],
     "expected FIELD=VALUE"),
    (["--actor-type", "customers", "--profile", "northwind", "--where",
      "city=London' OR '1'='1"], "no customers match"),
    (["--actor-type", "customers", "--profile", "northwind", "--where",
      "city=x'); DROP TABLE customers; --"], "no customers match"),
])
def test_bad_requests(sample: Path, tmp_path: Path, args, message):
    db = tmp_path / "crm.duckdb"
    seed(db, companies=[{"company_id": 1, "name": "Existing AS"}])
    before = table_hashes(db)
    code, out = _cli(str(sample), *args, db=db)
    assert code != 0 and out["status"] == "failed"
    assert message in out["errors"][0] and "\n" not in out["errors"][0]
    assert table_hashes(db) == before
    with sqlite3.connect(sample) as con:  # the ERP is only read
        assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 91


def test_bad_profile_and_unreachable_database(sample: Path, tmp_path: Path):
    db = tmp_path / "crm.duckdb"
    bad = tmp_path / "bad.toml"
    bad.write_text('system = "x"\n[actors.customers]\ntable = "customers"\nkey = "id"\n'
                   '[actors.customers.columns]\ncompany_name = "name"\ncompany_colour = "c"\n',
                   encoding="utf-8")
    code, out = _cli(str(sample), "--actor-type", "customers", "--profile", str(bad), db=db)
    assert code != 0 and "bad ERP profile" in out["errors"][0]
    assert "unknown field 'company_colour'" in out["errors"][0]
    code, out = _cli("postgresql://crm:secret@127.0.0.1:1/erp", "--actor-type", "customers",
                     "--profile", "northwind", db=db)
    assert code != 0 and "cannot read the ERP" in out["errors"][0]
    assert "secret" not in json.dumps(out)  # the password is never shown or stored
    code, out = _cli(str(tmp_path / "missing.sqlite"), "--actor-type", "customers", db=db)
    assert code != 0 and "no such file" in out["errors"][0]


def test_cli_builds_the_sample_and_imports_from_it(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    out = tmp_path / "nw.sqlite"
    built = subprocess.run([CLI, "erp-sample", "-o", str(out), "--sql", str(DUMP), "--json"],
                           capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["tables"]["suppliers"] == 29
    db = tmp_path / "crm.duckdb"
    code, s = _cli(str(out), "--actor-type", "customers", "--profile", "northwind",
                   "--where", "country=Norway", "--dry-run", db=db)
    assert code == 0 and s["status"] == "preview"
    assert (s["rows"]["read"], s["company"]["new"]) == (1, 1)  # Santé Gourmet, Stavanger
    assert s["erp"] == {"system": "northwind", "actor_type": "customers", "profile": "northwind",
                        "where": {"country": "Norway"}, "gone": None}
    assert table(db, "SELECT count(*) AS n FROM company")["n"][0] == 0


@pytest.mark.both_stores
def test_keys_written_before_are_migrated(sample: Path, db):
    """(issue 17 §7) A CRM whose ERP keys read `customers:ALFKI`, `customers:ALFKI:contact`
    (schema version 3) gets the ERP's own keys and their kinds when it is next opened, and
    the next import finds every record by them."""
    erp_import(sample, db)
    erp_import(sample, db, "individuals")
    now = table(db, "SELECT erp_entity, erp_key FROM person ORDER BY person_id").rows()
    with open_crm(str(db)) as store:  # as version 3 wrote them
        store.execute("UPDATE company SET erp_key = erp_entity || ':' || erp_key")
        store.execute("UPDATE person SET erp_key = split_part(erp_entity, '.', 1) || ':' || "
                      "erp_key || CASE WHEN erp_entity LIKE '%.contact' THEN ':contact' "
                      "ELSE '' END")
        for t in ("company", "person"):
            store.execute(f"ALTER TABLE {t} DROP COLUMN erp_entity")
        store.execute("DELETE FROM schema_version WHERE version >= 4")
    # (opened again: migrated)
    assert table(db, "SELECT erp_entity, erp_key FROM person ORDER BY person_id").rows() == now
    assert table(db, "SELECT erp_entity, erp_key FROM company WHERE erp_key = 'ALFKI'").rows() \
        == [("customers", "ALFKI")]
    assert table(db, "SELECT max(version) FROM schema_version").item() == SCHEMA_VERSION
    s = erp_import(sample, db)
    assert (s["company"]["unchanged"], s["person"]["unchanged"]) == (91, 91), s["company"]
