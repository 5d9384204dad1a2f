"""Operations against a real Prefect server: a served drop-folder deployment run with
`prefect deployment run`, and the run pages checked in a real browser (Chromium)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO, table, write_csv
from tests.prefectserver import PrefectServer

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(prefect_server: PrefectServer) -> PrefectServer:
    return prefect_server  # the session's real Prefect server (tests/conftest.py)


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_drop_folder_deployment_imports_a_dropped_file(server, tmp_path):
    folder, db = tmp_path / "drop", tmp_path / "crm.duckdb"
    env = server.env()
    served = subprocess.Popen([str(BIN / "crm-import"), "serve", "--folder", str(folder),
                               "--db", str(db), "--cron", "0 0 1 1 *"], env=env, cwd=REPO,
                              stdout=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115
                              stderr=subprocess.STDOUT)
    try:
        def deployed():
            found = server.post("/deployments/filter", {})
            return {d["name"] for d in found} >= {"inbox", "on-demand"}
        _wait(deployed, 120, "the served deployments")
        inbox = folder / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        write_csv(inbox / "kunder.csv", ["Company", "First name", "Last name", "Email"],
                  [["ACME AS", "Ola", "Nordmann", "ola@acme.no"]])
        (inbox / "settings.toml").write_text('[person]\nmatch = "email"\n', encoding="utf-8")
        ran = subprocess.run([str(BIN / "prefect"), "deployment", "run",
                              "drop-folder-import/inbox"], env=env, capture_output=True,
                             text=True, timeout=120)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        done = _wait(lambda: list((folder / "done").glob("kunder.*.csv"))
                     if (folder / "done").exists() else None, 180, "the file in done/")
        run_id = done[0].name.split(".")[1]
        assert run_id.startswith("r")
        assert table(db, "SELECT first_name, last_name FROM person").rows() == [("Ola", "Nordmann")]
        assert not (inbox / "kunder.csv").exists()
        runs = table(db, "SELECT run_id, status FROM import_run").rows()
        assert runs == [(run_id, "completed")]
    finally:
        served.terminate()
        served.wait(timeout=30)


def test_a_file_that_crashes_its_import_goes_to_failed_and_the_rest_go_on(server, tmp_path):
    """(issue 22 #19: one bad file stopped the drop folder for good)"""
    folder, db = tmp_path / "drop", tmp_path / "crm.duckdb"
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    for name in ("a.csv", "b.csv"):
        write_csv(inbox / name, ["Company", "First name"], [["ACME AS", "Ola"]])
    code = ("import json, sys; from flows.prefect_flows import drop_folder_flow; "
            "print(json.dumps(drop_folder_flow(folder=sys.argv[1], db=sys.argv[2])))")
    env = server.env() | {"CRM_IMPORT_FAIL_AT": "plan"}  # every import crashes
    ran = subprocess.run([sys.executable, "-c", code, str(folder), str(db)], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    results = json.loads(ran.stdout.strip().splitlines()[-1])
    assert [(r["file"], r["status"]) for r in results] == [("a.csv", "failed"), ("b.csv", "failed")]
    assert sorted(p.name.split(".")[0] for p in (folder / "failed").iterdir()) == ["a", "b"]
    assert not list(inbox.iterdir())


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                    reason="no Chromium (apt-get install chromium)")
def test_run_pages_in_a_browser(server, tmp_path):
    from playwright.sync_api import sync_playwright

    db = tmp_path / "crm.duckdb"
    # (a name of its own: the drop-folder test's run on this server is "csv · kunder.csv")
    f = write_csv(tmp_path / "browser.csv", ["Company", "First name", "Last name", "Email",
                                             "Mobile"], [
        ["ACME", "Ola", "Nordmann", "ola@acme.no", "abc"], ["ACME", "Kari", "H", "x@", ""],
        ["", "", "", "only@email.no", ""], ["", "", "", "bad@", ""]])
    done = subprocess.run([str(BIN / "crm-import"), "run", str(f), "--db", str(db), "--json",
                           "--settings", str(_settings(tmp_path))], env=server.env(),
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed", summary
    assert summary["rows"]["rejected"] == 2
    runs = server.post("/flow_runs/filter",
                       {"flow_runs": {"name": {"any_": ["csv · browser.csv"]}}})
    assert len(runs) == 1
    run_id = runs[0]["id"]
    arts = {a["key"]: a for a in server.post(
        "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}})}

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # nothing leaves the machine: every request not to 127.0.0.1 is refused
        page.route("**/*", lambda route: route.continue_()
                   if urlsplit(route.request.url).hostname in ("127.0.0.1", None)
                   else route.abort())
        page.goto(f"{server.url}/runs/flow-run/{run_id}")
        page.wait_for_selector("text=csv · browser.csv", timeout=60_000)
        page.screenshot(path=str(shots / "flow-run.png"), full_page=True)
        assert "import-summary" in page.content() or "Artifacts" in page.content()

        page.goto(f"{server.url}/v2/artifacts/artifact/{arts['import-summary']['id']}")
        page.wait_for_selector("text=rows read", timeout=60_000)
        text = page.inner_text("body")
        page.screenshot(path=str(shots / "summary-artifact.png"), full_page=True)
        assert "rows read: 4, rejected: 2" in text
        assert "company" in text and "person" in text

        page.goto(f"{server.url}/v2/artifacts/artifact/{arts['import-rejects']['id']}")
        page.wait_for_selector("text=not a valid email", timeout=60_000)
        page.screenshot(path=str(shots / "rejects-artifact.png"), full_page=True)

        # (issue 23) the warnings, and the runs list showing only the runs that need a look
        page.goto(f"{server.url}/v2/artifacts/artifact/{arts['import-warnings']['id']}")
        page.wait_for_selector("text=invalid_value", timeout=60_000)
        page.screenshot(path=str(shots / "warnings-artifact.png"), full_page=True)
        assert "Mobile" in page.inner_text("body") and "abc" not in page.inner_text("body")

        page.goto(f"{server.url}/runs?tag=warnings")
        page.wait_for_selector("text=csv · browser.csv", timeout=60_000)
        page.screenshot(path=str(shots / "runs-with-warnings.png"), full_page=True)
        assert "csv · kunder.csv" not in page.inner_text("body")  # (the clean drop-folder run)
        browser.close()
    assert sorted(p.name for p in shots.iterdir()) == [
        "flow-run.png", "rejects-artifact.png", "runs-with-warnings.png", "summary-artifact.png",
        "warnings-artifact.png"]
    # (an invalid mobile; the e-mail-only person gets no company: `no_company_made`)
    assert runs[0]["state"]["message"] == "completed: 2 warnings, 2 rejected"
    assert {"warnings", "rejects"} <= set(runs[0]["tags"])


def _settings(tmp: Path) -> Path:
    s = tmp / "settings.toml"
    s.write_text('[person]\nmatch = "email"\n', encoding="utf-8")
    return s


def test_prefect_yaml_names_real_flows():
    import importlib

    import yaml

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    names = set()
    for dep in spec["deployments"]:
        module, _, attr = dep["entrypoint"].partition(":")
        fn = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), attr)
        names.add(fn.name)
        # every parameter given is one the flow takes
        assert set(dep.get("parameters", {})) <= set(fn.parameters.properties), dep["name"]
    assert names == {"drop-folder-import", "import-erp-actors", "import-contacts",
                     "sync-contacts"}
