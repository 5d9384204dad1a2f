"""The benchmark must keep working: a small run (no timing is asserted — machines are noisy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def test_benchmark_smoke_run():
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    done = subprocess.run([sys.executable, "-m", "tests.benchmarks.run", "--rows", "10000",
                           "--json"], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["summary"]["status"] == "completed"
    # 20% of the file's persons and companies are in the CRM already (other spellings)
    assert out["summary"]["person"]["new"] == 8000 and out["summary"]["person"]["updated"] == 2000
    assert out["summary"]["company"]["new"] == 2000 and out["summary"]["company"]["updated"] == 500
    assert {"import/read floor", "import/join floor", "import/write floor"} <= set(out["ratios"])
    # the write floor re-inserted everything the run stored: at least a staging row per
    # file row, its records and their change log
    assert out["results"]["write floor"]["rows_written"] > 3 * 10_000
    assert set(out["stages"]) >= {"read file", "validate", "match and plan", "load"}


def test_benchmark_smoke_run_in_chunks():
    """The same rows imported in chunks (`[import] chunk_rows`): the same counts."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    done = subprocess.run([sys.executable, "-m", "tests.benchmarks.run", "--rows", "10000",
                           "--chunk-rows", "2500", "--only", "import", "--json"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["summary"]["status"] == "completed" and out["summary"]["chunks"] >= 4
    assert out["summary"]["person"]["new"] == 8000 and out["summary"]["person"]["updated"] == 2000
    assert out["summary"]["company"]["new"] == 2000 and out["summary"]["company"]["updated"] == 500
    assert {"keys", "split into chunks", "match and plan", "load"} <= set(out["stages"])
