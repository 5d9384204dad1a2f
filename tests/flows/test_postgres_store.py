"""The PostgreSQL store on a real server: logins, rights, secrets, and a first schema.

(The policy, undo, kill and CLI suites run on this store too: see `both_stores`.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REPO, table, write_csv
from tests.pgserver import _free_port

CLI = str(Path(sys.executable).parent / "crm-import")
PASSWORD = "s3cret-Pw"


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PGPASSWORD")}
    return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**base, **(env or {})})


def _file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "in.csv", ["Company", "First name", "Last name", "Email"],
                     [["ACME AS", "Ola", "Nordmann", "ola@acme.no"],
                      ["Beta AS", "Kari", "Hansen", "kari@beta.no"]])


@pytest.fixture(scope="module")
def server(pg_server):
    """The test server with two logins that need a password: `importer` (may use tables it
    is granted, may create nothing) and the owner's superuser (trusted, no password)."""
    assert pg_server.url is not None
    if pg_server._dir is None:
        pytest.skip("an external CRM_IMPORT_TEST_PG server: its logins are not ours to change")
    hba = pg_server._dir / "data" / "pg_hba.conf"
    rule = "host all importer 127.0.0.1/32 scram-sha-256\n"
    if rule not in hba.read_text():
        hba.write_text(rule + hba.read_text())  # first match wins: before the trust lines
    with psycopg.connect(f"{pg_server.url}/postgres", autocommit=True) as con:
        con.execute("DROP ROLE IF EXISTS importer")
        con.execute(f"CREATE ROLE importer LOGIN PASSWORD '{PASSWORD}'")
        con.execute("SELECT pg_reload_conf()")
    return pg_server


def _grant(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                    "TO importer")


def _ready_for_importer(server, name: str) -> str:
    """A database whose owner ran init-db and granted the importer its tables."""
    url = server.create_database(name)
    assert _cli("init-db", "--db", url).returncode == 0
    _grant(url)
    return url


def _as_importer(url: str, password: str | None = PASSWORD) -> str:
    return url.replace("postgres@", f"importer:{password}@" if password else "importer@")


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    url = f"postgresql://crm@127.0.0.1:{_free_port()}/crm"
    done = _cli("run", str(_file(tmp_path)), "--db", url, "--json")
    assert done.returncode != 0
    error = json.loads(done.stdout)["errors"][0]
    assert "cannot be reached" in error and "is PostgreSQL running there?" in error
    assert "Traceback" not in done.stderr


def test_a_wrong_password_is_refused_and_never_shown(server, tmp_path):
    url = server.create_database("crm_pw")
    done = _cli("run", str(_file(tmp_path)), "--db", _as_importer(url, "wrong-pw"), "--json")
    assert done.returncode != 0
    error = json.loads(done.stdout)["errors"][0]
    assert "refused the login (wrong user or password)" in error
    assert "wrong-pw" not in done.stdout + done.stderr and "importer:***@" in error


def test_no_schema_and_no_right_to_create_it_then_init_db(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_IMPORT_STAGING", str(tmp_path / "crm-staging.duckdb"))
    url = server.create_database("crm_rights")
    importer = _as_importer(url)
    done = _cli("run", str(_file(tmp_path)), "--db", importer, "--json")
    assert done.returncode != 0
    error = json.loads(done.stdout)["errors"][0]
    assert "has no crm-import schema" in error and "user importer may not create it" in error
    assert "crm-import init-db" in error and PASSWORD not in done.stdout + done.stderr
    with psycopg.connect(url) as con:  # nothing half-written
        assert con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                           ).fetchone()[0] == 0

    # the owner creates the schema once and grants the importer its tables
    init = json.loads(_cli("init-db", "--db", url, "--json").stdout)
    assert init["store"] == "postgresql" and init["schema_version"] >= 2
    _grant(url)
    done = _cli("run", str(_file(tmp_path)), "--db", importer, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["company"]["new"] == 2 and summary["person"]["new"] == 2
    # the password is in no output and in no table
    assert PASSWORD not in done.stdout + done.stderr
    with psycopg.connect(url) as con:
        for (run,) in con.execute("SELECT concat_ws('|', run_id, source, file, settings, summary) "
                                  "FROM import_run"):
            assert PASSWORD not in run


def test_password_from_pgpassword(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_IMPORT_STAGING", str(tmp_path / "crm-staging.duckdb"))
    url = _ready_for_importer(server, "crm_env")
    done = _cli("run", str(_file(tmp_path)), "--db", _as_importer(url, None), "--json",
                env={"PGPASSWORD": PASSWORD})
    assert done.returncode == 0, done.stdout + done.stderr
    assert table(url, "SELECT count(*) FROM company").item() == 2


def test_a_server_store_keeps_its_staging_in_a_duckdb_file_here(pg_server, tmp_path, monkeypatch):
    staging = tmp_path / "crm-staging.duckdb"
    monkeypatch.setenv("CRM_IMPORT_STAGING", str(staging))
    url = pg_server.fresh_database()
    done = _cli("run", str(_file(tmp_path)), "--db", url, "--json")
    run_id = json.loads(done.stdout)["run_id"]
    assert staging.exists()
    import duckdb

    with duckdb.connect(str(staging), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staging.raw_rows WHERE run_id = ?",
                           [run_id]).fetchall() == [(2,)]
    with psycopg.connect(url) as con:  # and nothing of it on the server
        assert con.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'staging'"
                           ).fetchone()[0] == 0


@pytest.mark.slow
def test_password_from_a_prefect_secret_block(server, prefect_server, tmp_path, monkeypatch):
    """With a Prefect server, the password can live in a Secret block: the URL names no
    password, CRM_IMPORT_DB_SECRET names the block, and the flow run's parameters show none."""
    monkeypatch.setenv("CRM_IMPORT_STAGING", str(tmp_path / "crm-staging.duckdb"))
    url = _ready_for_importer(server, "crm_secret")
    env = prefect_server.env(CRM_IMPORT_DB_SECRET="crm-db-password")
    subprocess.run([sys.executable, "-c", "from prefect.blocks.system import Secret; "
                    f"Secret(value={PASSWORD!r}).save('crm-db-password', overwrite=True)"],
                   env=env, check=True, capture_output=True, timeout=120)
    done = subprocess.run([CLI, "run", str(_file(tmp_path)), "--db", _as_importer(url, None),
                           "--json"], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads(done.stdout)["company"]["new"] == 2
    runs = prefect_server.post("/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["contacts"]}}})
    assert runs and all(PASSWORD not in json.dumps(r["parameters"]) for r in runs)


def test_a_served_deployment_refuses_a_password_in_its_url(tmp_path):
    """Deployment parameters are stored on the Prefect server: no password may ride in them."""
    done = _cli("serve", "--folder", str(tmp_path / "drop"), "--db",
                f"postgresql://importer:{PASSWORD}@127.0.0.1:5432/crm",
                env={"PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert done.returncode == 2
    assert "must not carry a password" in done.stderr and "PGPASSWORD" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
