"""Folder imports: one run per file under a batch id; the Dask runner gives the local results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO, snapshot, table, write_csv

pytestmark = pytest.mark.both_stores
CLI = str(Path(sys.executable).parent / "crm-import")
SETTINGS = '[person]\naction = "add"\nif_no_company = "without_company"\n'


def _cli(*args: str, env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    env = env or {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout, env=env)


def _folder(tmp_path: Path) -> Path:
    """Four address-book exports of four formats, as they came."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in ("outlook/projectopen_outlook2000_en_sample_latin1.csv",
                 "google/roundcube_gmail.csv", "google/ezvcard_gmail-list.vcf",
                 "outlook/tine20_importtest_outlook2013_de.csv"):
        shutil.copy(FIXTURES / name, folder)
    (tmp_path / "s.toml").write_text(SETTINGS, encoding="utf-8")
    return folder


def test_a_folder_is_one_run_per_file_under_one_batch(tmp_path, db):
    folder = _folder(tmp_path)
    write_csv(folder / "zz_empty.csv", ["Company", "Email"], [])  # a bad file among good ones
    (folder / ".hidden.csv").write_text("Company\nNope AS\n", encoding="utf-8")
    done = _cli("run", str(folder), "--db", str(db), "--settings", str(tmp_path / "s.toml"),
                "--json")
    batch = json.loads(done.stdout)
    assert done.returncode == 1  # one file failed: said, and the others landed
    assert (batch["files"], batch["failed"], batch["status"]) == (5, 1, "failed")
    assert "zz_empty.csv" in batch["errors"][0] and "no rows" in batch["errors"][0]
    runs = batch["runs"]
    assert [Path(r["file"]).name for r in runs] == sorted(p.name for p in folder.iterdir()
                                                          if not p.name.startswith("."))
    assert {r["batch_id"] for r in runs} == {batch["batch_id"]}
    good = [r for r in runs if r["status"] == "completed"]
    assert len(good) == 4 and all(r["selections"]["new"] == f"{r['run_id']}-new" for r in good)
    assert batch["person"]["new"] == sum(r["person"]["new"] for r in runs) > 0
    listed = json.loads(_cli("runs", "--db", str(db), "--json").stdout)["runs"]
    assert {r["run_id"]: r["batch_id"] for r in listed} == {r["run_id"]: batch["batch_id"]
                                                            for r in runs}
    # each file's run is undone on its own
    gmail = next(r for r in good if r["file"].endswith("roundcube_gmail.csv"))
    before = table(db, "SELECT count(*) FROM person").item()
    undone = json.loads(_cli("undo", gmail["run_id"], "--db", str(db), "--json").stdout)
    assert undone["status"] == "undone"
    assert table(db, "SELECT count(*) FROM person").item() == before - gmail["person"]["new"]


def test_runner_must_be_known(tmp_path, db):
    done = _cli("run", str(_folder(tmp_path)), "--db", str(db), "--runner", "spark", "--json")
    assert done.returncode == 2
    assert "allowed: local, dask, dask://HOST:PORT" in json.loads(done.stdout)["errors"][0]
    (tmp_path / "x").mkdir()
    done = _cli("run", str(_folder(tmp_path / "x")), "--db", str(db), "--chunks", "2", "--json")
    assert done.returncode == 2 and "--runner dask" in json.loads(done.stdout)["errors"][0]


def _without_ids(summary: dict) -> dict:
    return {k: v for k, v in summary.items()
            if k not in ("run_id", "batch_id", "timings", "selections")}


@pytest.mark.slow
def test_dask_runner_gives_the_local_results(tmp_path, db, prefect_server):
    """The folder through Prefect's DaskTaskRunner (a local cluster of 2 workers, each file
    validated as two tasks) lands exactly what the in-process runner lands, record for
    record."""
    folder = _folder(tmp_path)
    settings = str(tmp_path / "s.toml")
    local_db = tmp_path / "local.duckdb"
    local = json.loads(_cli("run", str(folder), "--db", str(local_db), "--settings", settings,
                            "--json").stdout)
    done = _cli("run", str(folder), "--db", str(db), "--settings", settings, "--runner", "dask",
                "--workers", "2", "--chunks", "2", "--json", env=prefect_server.env(),
                timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    dask = json.loads(done.stdout)
    assert dask["runner"] == "dask" and dask["files"] == 4
    assert [_without_ids(s) for s in dask["runs"]] == [_without_ids(s) for s in local["runs"]]
    assert snapshot(db) == snapshot(local_db)
    # the prepare tasks ran on the Dask workers: the flow run's task runs say so
    flows = prefect_server.post("/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["folder"]}}})
    assert flows and flows[0]["state_type"] == "COMPLETED"
    tasks = prefect_server.post("/task_runs/filter", {
        "flow_runs": {"id": {"any_": [flows[0]["id"]]}}})
    prepared = [t for t in tasks if t["name"].startswith("prepare")]
    assert len(prepared) == 8 and all(t["state_type"] == "COMPLETED" for t in prepared)
