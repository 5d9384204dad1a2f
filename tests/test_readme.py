"""The README works as written: its `bash` blocks run, in order, in a copy of the checkout
(with a CRM of their own); the commands of its `text` blocks exist with the options they
use; its TOML blocks are files crm-import reads (the settings block is `crm-import
settings`, word for word)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

from contracts.settings import parse_settings, settings_file
from tests.conftest import REPO
from transforms.mapping import read_mapping_file

README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
VENV_BIN = Path(sys.executable).parent
QUICK_START = ["pip install uv && uv sync --frozen && uv run crm-import demo",
               "pip install uv && uv sync --frozen && uv run pytest"]


def blocks(kind: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text(encoding="utf-8"))
            if lang == kind]


def test_every_block_says_what_it_is():
    """A block without a language would be neither run nor checked."""
    kinds = {lang for lang, _ in FENCE.findall(README.read_text(encoding="utf-8"))}
    assert kinds <= {"bash", "text", "toml", "json"}


def test_the_quick_start_is_what_ci_runs():
    assert blocks("bash")[0].strip().splitlines() == QUICK_START
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "\npip install -q uv && uv sync --frozen\n" in ci and "\nuv run pytest\n" in ci


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The checkout's files as a clone has them (tracked, and new ones not ignored), and an
    environment where `uv run X` runs X from this test's virtualenv: CI installed it with
    the Quick start's `uv sync --frozen`, and a second sync must not touch it."""
    root = tmp_path_factory.mktemp("readme")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode()
    clone = root / "clone"
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    shim = root / "bin"
    shim.mkdir()
    (shim / "uv").write_text('#!/bin/sh\n[ "$1" = run ] || { echo "uv (test shim): only '
                             '\'uv run\' is expected here, got: $*" >&2; exit 97; }\n'
                             'shift\nexec "$@"\n', encoding="utf-8")
    (shim / "uv").chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "CRM_IMPORT_DB", "CRM_IMPORT_STAGING",
                        "CRM_IMPORT_FAIL_AT", "VIRTUAL_ENV", "UV")}
    env["PATH"] = f"{shim}:{VENV_BIN}:{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    return clone, env


# what each bash block leaves behind, beyond exiting 0 (by the block's first command)
LEAVES = {
    "crm-import demo": ["data/demo.duckdb"],
    "crm-import settings -o policy.toml": ["policy.toml", "mapping.toml", "fix-me.xlsx",
                                           "changed.xlsx", "data/crm.duckdb"],
    "crm-import erp-sample": ["data/samples/erp/northwind.sqlite"],
    "crm-import products": ["products.xlsx", "contacts.xlsx"],
    "crm-import duplicates --db data/demo.duckdb": ["review.csv"],
}


def test_the_bash_blocks_run_as_written(checkout):
    clone, env = checkout
    bash = blocks("bash")
    bash[0] = "uv run crm-import demo"  # (the install on that line is CI's own: .ci/run)
    del bash[1]  # the test suite itself
    for body in bash:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=900)
        where = f"README block:\n{body}\n--- stdout\n{done.stdout[-4000:]}\n" \
                f"--- stderr\n{done.stderr[-4000:]}"
        assert done.returncode == 0, where
        assert "Traceback" not in done.stderr, where
        first = body.strip().splitlines()[0].removeprefix("uv run ")
        for key, files in LEAVES.items():
            if first.startswith(key):
                assert all((clone / f).is_file() for f in files), where
        if first.startswith("crm-import settings -o policy.toml"):
            assert "would change" in done.stdout  # show last --changes
            assert "deleted" in done.stdout  # undo last
        if first.startswith("crm-import duplicates --db data/demo.duckdb"):
            assert "merged 1 pair of companies" in done.stdout and "undone" in done.stdout


def _commands(body: str) -> list[list[str]]:
    """The crm-import command lines of a block, as argument lists (comments dropped)."""
    lines, out = body.replace("\\\n", " ").splitlines(), []
    for line in lines:
        words = shlex.split(line, comments=True)
        if words[:2] == ["uv", "run"]:
            words = words[2:]
        if words[:1] == ["crm-import"]:
            out.append(words[1:])
    return out


@cache
def _help(command: tuple[str, ...]) -> str:
    return subprocess.run([str(VENV_BIN / "crm-import"), *command, "--help"],
                          capture_output=True, text=True, check=True).stdout


def test_the_text_blocks_name_real_commands_and_options():
    checked = 0
    for body in blocks("text"):
        for words in _commands(body):
            command = (tuple(words[:2]) if words[0] in ("selection", "connect")
                       or words[:2] == ["duplicates", "apply"] else (words[0],))
            text = _help(command)
            for option in (w.split("=")[0] for w in words if w.startswith("-")):
                assert re.search(rf"(^|[\s,]){re.escape(option)}\b", text), \
                    f"crm-import {' '.join(command)} has no {option}"
            checked += 1
    assert checked >= 8


def test_the_toml_blocks_are_files_crm_import_reads(tmp_path):
    toml = blocks("toml")
    assert settings_file() in toml  # the README shows `crm-import settings`, word for word
    for i, body in enumerate(toml):
        data = tomllib.loads(body)
        if "columns" in data or "build" in data:
            path = tmp_path / f"mapping{i}.toml"
            path.write_text(body, encoding="utf-8")
            assert read_mapping_file(path).columns == data.get("columns", {})
        else:
            parse_settings(data)
