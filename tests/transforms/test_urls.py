"""A password never shown, however the connection string writes it (issue 22 #16)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from transforms.store.urls import hide_password, reveal_password, safe_connection


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://u:secret@host:5432/crm", "postgresql://u:***@host:5432/crm"),
    ("postgresql://u:se/cr#et?x@host:5432/crm", "postgresql://u:***@host:5432/crm"),
    ("postgresql://u:p%40ss@h/d", "postgresql://u:***@h/d"),
    ("postgresql://u:secret@[::1]:5432/crm", "postgresql://u:***@[::1]:5432/crm"),
    ("postgres://u@host/crm?password=secret&sslmode=require",
     "postgres://u@host/crm?password=***&sslmode=require"),
    ("postgresql://u@host/crm?sslmode=require&PASSWORD=secret",
     "postgresql://u@host/crm?sslmode=require&PASSWORD=***"),
    ("postgresql://u@host/crm", "postgresql://u@host/crm"),
    ("data/crm.duckdb", "data/crm.duckdb"),
])
def test_the_password_is_masked(url, shown):
    assert safe_connection(url) == shown
    assert reveal_password(hide_password(url)) == url


def test_an_unreachable_server_is_named_without_its_password(tmp_path):
    url = "postgresql://importer:s3/cr#t@127.0.0.1:9/crm"
    done = subprocess.run([str(Path(sys.executable).parent / "crm-import"), "runs", "--db", url,
                           "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "s3/cr" not in done.stdout + done.stderr and "cr#t" not in done.stdout + done.stderr
    assert "postgresql://importer:***@127.0.0.1:9/crm" in json.loads(done.stdout)["errors"][0]
