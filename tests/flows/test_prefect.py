"""One import under Prefect (the test harness's temporary server): flow, tasks, artifacts."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.conftest import table, write_csv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _read(coro_fn):
    from prefect.client.orchestration import get_client

    async def go():
        async with get_client() as client:
            return await coro_fn(client)

    return asyncio.run(go())


def test_import_runs_as_a_flow_with_artifacts(harness, tmp_path):
    from contracts.settings import parse_settings
    from flows.pipeline import ImportRequest
    from flows.prefect_flows import run_with_prefect

    db = tmp_path / "crm.duckdb"
    f = write_csv(tmp_path / "kunder.csv", ["Company", "First name", "Last name", "Email",
                                            "Mobile"], [
        ["ACME", "Ola", "Nordmann", "ola@acme.no", "abc"], ["", "", "", "", ""],
        ["ACME", "Kari", "H", "x@", ""], ["", "", "", "only@email.no", ""], ["", "", "", "bad@", ""],
    ])
    req = ImportRequest(file=str(f), db=str(db),
                        settings=parse_settings({"person": {"match": "email"}}))
    s = run_with_prefect(req)
    assert s["status"] == "completed"
    # (the e-mail-only person gets no company named after its address: issue 17 §3)
    assert (s["company"]["new"], s["person"]["new"], s["rows"]["rejected"]) == (1, 2, 2)
    assert table(db, "SELECT count(*) FROM person").item() == 2  # same results as in-process

    runs = _read(lambda c: c.read_flow_runs())
    run = next(r for r in runs if r.name == "csv · kunder.csv")
    assert run.state.is_completed() and {"contacts", "csv"} <= set(run.tags)
    # what needs a look, at a glance: the state message and tags to filter the runs list on
    warnings = len(s["warnings"])
    assert run.state.message == f"completed: {warnings} warning{'s' * (warnings != 1)}, 2 rejected"
    assert {"warnings", "rejects"} <= set(run.tags)
    tasks = _read(lambda c: c.read_task_runs())
    names = {t.name for t in tasks if t.flow_run_id == run.id}  # by stage, no suffix
    assert {"read", "map", "validate", "plan", "stage", "load"} <= names
    arts = {a.key: a for a in _read(lambda c: c.read_artifacts()) if a.flow_run_id == run.id}
    assert "| company | 1 | 0 | 0 | 0 | 0 |" in arts["import-summary"].data
    assert "rows read: 4, rejected: 2" in arts["import-summary"].data
    assert f"## Warnings: {warnings}" in arts["import-summary"].data
    assert "| invalid_value | 1 |" in arts["import-summary"].data
    assert "## Slowest stages" in arts["import-summary"].data
    assert f"crm-import show {s['run_id']} --warnings" in arts["import-summary"].data
    assert f"crm-import show {s['run_id']} --rejects -o fix.xlsx" in arts["import-summary"].data
    assert "invalid_value" in arts["import-warnings"].data and "Mobile" in arts["import-warnings"].data
    assert arts["import-warnings"].description.startswith(f"{warnings} warning")
    assert "only@email.no" not in arts["import-warnings"].data  # no cell values
    assert "row" in arts["import-rejects"].data and "not a valid email" in arts["import-rejects"].data
    assert arts["import-progress"].data == 100
    # nothing personal in the run's logs: counts and row numbers only
    from prefect.logging.handlers import APILogHandler

    for logger in (logging.getLogger(), logging.getLogger("prefect"),
                   logging.getLogger("prefect.flow_runs"), logging.getLogger("prefect.task_runs")):
        for handler in logger.handlers:  # logs reach the server in batches
            if isinstance(handler, APILogHandler):
                handler.flush()
    logs = ""
    for _ in range(20):
        logs = " ".join(log.message for log in _read(lambda c: c.read_logs())
                        if log.flow_run_id == run.id)
        if "stage: validate" in logs:
            break
        time.sleep(0.5)
    assert "stage: validate" in logs
    for secret in ("Nordmann", "ola@acme.no", "only@email.no", "Kari"):
        assert secret not in logs
    assert "Nordmann" not in arts["import-rejects"].data and "x@" not in arts["import-rejects"].data


def test_failed_import_fails_the_flow_run_with_the_reason(harness, tmp_path):
    from flows.pipeline import ImportRequest
    from flows.prefect_flows import run_with_prefect

    s = run_with_prefect(ImportRequest(file=str(tmp_path / "nope.xlsx"), db=str(tmp_path / "c.duckdb")))
    assert s["status"] == "failed"
    runs = _read(lambda c: c.read_flow_runs())
    run = next(r for r in runs if r.name == "excel · nope.xlsx")
    assert run.state.is_failed() and "no such file" in run.state.message


def test_products_run_as_their_own_flow(harness, tmp_path):
    from flows.pipeline import ImportRequest
    from flows.prefect_flows import run_with_prefect
    from tests.conftest import FIXTURES

    db = tmp_path / "crm.duckdb"
    s = run_with_prefect(ImportRequest(file=str(FIXTURES / "erp" / "northwind_neo4j_products.csv"),
                                       db=str(db), kind="products", price_list="Northwind"))
    assert s["status"] == "completed" and s["product"]["new"] == 77
    runs = _read(lambda c: c.read_flow_runs())
    run = next(r for r in runs if r.name == "csv · northwind_neo4j_products.csv")
    flow = _read(lambda c: c.read_flow(run.flow_id))
    assert flow.name == "import-products" and "products" in run.tags


def test_erp_actors_run_as_their_own_flow(harness, tmp_path):
    from flows.pipeline import ImportRequest
    from flows.prefect_flows import run_with_prefect
    from tests.conftest import FIXTURES
    from transforms.erp import ErpRequest, build_sample

    erp = build_sample(FIXTURES / "erp" / "northwind_psql_pthom.sql", tmp_path / "nw.sqlite")
    assert erp["customers"] == 91
    db = tmp_path / "crm.duckdb"
    req = ImportRequest(file=str(tmp_path / "nw.sqlite"), db=str(db), source="erp",
                        erp=ErpRequest(str(tmp_path / "nw.sqlite"), "suppliers", "northwind"))
    s = run_with_prefect(req)
    assert s["status"] == "completed" and s["company"]["new"] == 29
    runs = _read(lambda c: c.read_flow_runs())
    run = next(r for r in runs if r.name == "erp suppliers · northwind")
    flow = _read(lambda c: c.read_flow(run.flow_id))
    assert flow.name == "import-erp-actors" and "erp" in run.tags
    arts = {a.key: a for a in _read(lambda c: c.read_artifacts()) if a.flow_run_id == run.id}
    assert "| company | 29 | 0 | 0 | 0 | 0 |" in arts["import-summary"].data


def test_a_chunked_import_shows_its_chunks_and_progress(harness, tmp_path):
    from contracts.settings import parse_settings
    from flows.pipeline import ImportRequest
    from flows.prefect_flows import run_with_prefect

    db = tmp_path / "crm.duckdb"
    rows = [[f"Firma {i // 4}", "Ola", f"N{i}", f"p{i}@x.no"] for i in range(3000)]
    f = write_csv(tmp_path / "stor.csv", ["Company", "First name", "Last name", "Email"], rows)
    req = ImportRequest(file=str(f), db=str(db), settings=parse_settings(
        {"person": {"match": "email"}, "import": {"chunk_rows": 1000}}))
    s = run_with_prefect(req)
    assert s["status"] == "completed" and s["chunks"] == 3
    assert (s["company"]["new"], s["person"]["new"]) == (750, 3000)
    run = next(r for r in _read(lambda c: c.read_flow_runs()) if r.name == "csv · stor.csv")
    tasks = [t.name for t in _read(lambda c: c.read_task_runs()) if t.flow_run_id == run.id]
    assert tasks.count("plan") == 3 and tasks.count("load") == 3 and tasks.count("validate") == 3
    # (a chunk's suggestions, worked out in a thread beside its load, are the flow's tasks
    # too: each chunk's added, then the run's scored)
    assert tasks.count("suggest") == 4
    arts = {a.key: a for a in _read(lambda c: c.read_artifacts()) if a.flow_run_id == run.id}
    assert arts["import-progress"].data == 100


def test_an_undo_left_unfinished_says_so_in_its_state_and_tags(harness, tmp_path):
    """(issue 23 #5) The undo flow: its task named `undo`, its state message and a
    `conflicts` tag when conflicts kept it from finishing."""
    from flows.config import open_crm
    from flows.prefect_flows import undo_with_prefect
    from tests.conftest import run_import, seed

    db = tmp_path / "crm.duckdb"
    seed(db, companies=[{"company_id": 1, "name": "ACME AS", "street": None}])
    f = write_csv(tmp_path / "u.csv", ["Company", "Address"], [["ACME AS", "Storgata 1"]])
    s = run_import(f, db)  # fills ACME's street
    with open_crm(str(db)) as store:  # edited by hand since
        store.execute("UPDATE company SET street = 'Edited 9' WHERE company_id = 1")
    result = undo_with_prefect(s["run_id"], str(db), force=False, dry_run=False)
    assert result["status"] == "partly-undone" and len(result["conflicts"]) == 1
    run = next(r for r in _read(lambda c: c.read_flow_runs()) if r.name == f"undo · {s['run_id']}")
    assert run.state.message == "partly-undone: 1 conflict" and "conflicts" in run.tags
    tasks = [t.name for t in _read(lambda c: c.read_task_runs()) if t.flow_run_id == run.id]
    assert tasks == ["undo"]
