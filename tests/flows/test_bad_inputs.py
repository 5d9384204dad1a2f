"""The bad-input corpus (tests/cases/bad): one clear line, nothing applied, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cases.bad import Case, build
from tests.conftest import REPO, seed, table_hashes

CLI = str(Path(sys.executable).parent / "crm-import")
CORPUS_CASES = build(None)  # the list only; the files are made once per module below


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    build(folder)
    return folder


def test_the_corpus_is_large_enough():
    assert len(CORPUS_CASES) >= 40
    assert len({c.name for c in CORPUS_CASES}) == len(CORPUS_CASES)


@pytest.mark.parametrize("case", CORPUS_CASES, ids=lambda c: c.name)
def test_bad_input(case: Case, corpus: Path, tmp_path: Path):
    db = tmp_path / "crm.duckdb"
    seed(db, companies=[{"company_id": 1, "name": "Existing AS", "street": None}])
    before = table_hashes(db)
    argv = [CLI, "run", str(corpus / case.file) if case.file else str(corpus / "missing.xlsx"),
            "--db", str(db), "--json", *(a.replace("{corpus}", str(corpus)) for a in case.args)]
    if case.settings:
        s = tmp_path / "settings.toml"
        s.write_text(case.settings, encoding="utf-8")
        argv += ["--settings", str(s)]
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "CRM_IMPORT_FAIL_AT")}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    out = json.loads(done.stdout)  # one JSON object, even for a failure
    if case.expect == "error":
        assert done.returncode != 0
        assert out["status"] == "failed"
        assert len(out["errors"]) == 1 and "\n" not in out["errors"][0]
        assert case.message in out["errors"][0]
        assert table_hashes(db) == before
        if case.extra.get("never_said"):  # not in the answer, nor in the run record
            assert case.extra["never_said"] not in done.stdout + done.stderr
            for f in (db, Path(str(db) + ".wal")):
                assert not f.exists() or case.extra["never_said"].encode() not in f.read_bytes()
    else:
        assert done.returncode == 0, out
        assert out["status"] == "completed"
        if case.rejected is not None:
            assert out["rows"]["rejected"] == case.rejected
        if "read" in case.extra:
            assert out["rows"]["read"] == case.extra["read"], out["rows"]
        if case.extra.get("warning"):
            assert any(case.extra["warning"] in w["message"] for w in out["warnings"]), out
        if case.message:
            reasons = subprocess.run([CLI, "show", out["run_id"], "--rejects", "--json", "--db", str(db)],
                                     capture_output=True, text=True, cwd=REPO, env=env).stdout
            assert case.message in reasons
    # the CRM's own tables are never damaged (the SQL-looking value is only a value)
    assert set(table_hashes(db)) == set(before)
