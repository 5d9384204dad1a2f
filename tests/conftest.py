"""Shared test helpers: tiny input files, a seeded CRM, and imports run in-process."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.pop("PREFECT_API_URL", None)  # tests choose their runner explicitly

from contracts.settings import parse_settings  # noqa: E402
from flows.config import open_crm  # noqa: E402
from flows.pipeline import ImportRequest, import_contacts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
CASES = Path(__file__).resolve().parent / "cases"


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, sep: str = ",",
              encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=sep)
        w.writerow(header)
        w.writerows([["" if v is None else v for v in r] for r in rows])
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]], *,
               title: str | None = None, start_row: int = 0, sheet: str = "Sheet1") -> Path:
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet(sheet)
    r = start_row
    if title:
        ws.write(r, 0, title)
        r += 2  # a title, then a blank row, then the header
    ws.write_row(r, 0, header)
    for i, row in enumerate(rows, start=r + 1):
        for j, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, int | float):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, v)
    wb.close()
    return path


def run_import(file: Path | str, db: Path | str, settings: dict | None = None,
               **kw: Any) -> dict[str, Any]:
    req = ImportRequest(file=str(file), db=str(db), settings=parse_settings(settings or {}), **kw)
    return import_contacts(req)


def table(db: Path | str, sql: str, params: list | None = None) -> pl.DataFrame:
    with open_crm(str(db)) as store:
        # (beside a server store the staging tables are in a DuckDB file of their own)
        return (store.staging if "staging." in sql else store).query(sql, params)


def seed(db: Path | str, *, companies: list[dict] = (), persons: list[dict] = (),
         phones: list[dict] = (), emails: list[dict] = (), urls: list[dict] = (),
         list_items: list[dict] = ()) -> None:
    """Put records in the CRM directly (ids given by the test)."""
    # seeded persons already carry the default privacy fields, so that a test sees only
    # the changes it is about (privacy fields follow the action like any other field)
    persons = [{"legal_basis": "default", "consent_source": "import", **p} for p in persons]
    with open_crm(str(db)) as store:
        for table_name, rows in (("company", companies), ("person", persons), ("phone", phones),
                                 ("email", emails), ("url", urls), ("list_item", list_items)):
            if not rows:
                continue
            frame = pl.DataFrame(list(rows))
            if table_name == "person" and "birth_date" in frame.columns:
                frame = frame.with_columns(pl.col("birth_date").str.to_date())
            store.register("seed_rows", frame)
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            store.execute(f"INSERT INTO {table_name} ({cols}) SELECT {cols} FROM seed_rows")
            store.unregister_all()


DATA_TABLES = ("company", "person", "phone", "email", "url", "interest", "list_item",
               "price_list", "product")


def snapshot(db: Path | str) -> dict[str, list]:
    """Every CRM data table, sorted: "exactly as it was" compares these."""
    with open_crm(str(db)) as store:
        return {t: sorted(map(repr, store.query(f"SELECT * FROM {t}").rows())) for t in DATA_TABLES}


STORES = ("duckdb", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules marked `both_stores` run every test that takes `db` on DuckDB and on
    PostgreSQL (a test marked `duckdb_only` is about the DuckDB file itself)."""
    if ("db" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores")
            and not metafunc.definition.get_closest_marker("duckdb_only")):
        metafunc.parametrize("db", STORES, indirect=True)


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the session (skipped without one, failed in CI)."""
    from tests.pgserver import LocalServer

    server = LocalServer()
    if server.start() is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test against PostgreSQL: {server.why_not}")
        pytest.skip(server.why_not)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real Prefect server (`prefect server start`) for the session's slow tests."""
    from tests.prefectserver import PrefectServer

    srv = PrefectServer(tmp_path_factory.mktemp("prefect"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | str:
    """The CRM of one test: a DuckDB file, or a fresh PostgreSQL database (its URL)."""
    if getattr(request, "param", "duckdb") == "duckdb":
        return tmp_path / "crm.duckdb"
    server = request.getfixturevalue("pg_server")
    # the staging tables of a server store live in a DuckDB file on this machine
    monkeypatch.setenv("CRM_IMPORT_STAGING", str(tmp_path / "crm-staging.duckdb"))
    return server.fresh_database()


def table_hashes(db: Path | str) -> dict[str, str]:
    """SHA-256 of every CRM data table's sorted rows: "unchanged" means these are equal."""
    import hashlib

    return {t: hashlib.sha256("\n".join(rows).encode()).hexdigest()
            for t, rows in snapshot(db).items()}
