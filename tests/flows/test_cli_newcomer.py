"""What a new user meets on the command line: usage errors, -v anywhere, plain settings
errors, `settings -o`, `show --warnings`, counts that read right, help that is not cut."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contracts.settings import ImportSettings, load_settings
from tests.conftest import REPO, seed, write_csv

CLI = str(Path(sys.executable).parent / "crm-import")
ENV = {k: v for k, v in os.environ.items()
       if k not in ("PREFECT_API_URL", "CRM_IMPORT_DB", "CRM_IMPORT_FAIL_AT", "UV")}


def crm(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO,
        timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env or ENV,
                          cwd=cwd, timeout=timeout)


def runs(db: Path) -> list[dict]:
    return json.loads(crm("runs", "--db", str(db), "--json").stdout)["runs"]


def people(tmp_path: Path, n: int = 2, *, bad_second_email: bool = False) -> Path:
    rows = [[f"Firma {i} AS", f"Person{i}", "Hansen", f"p{i}@firma{i}.no",
             "not-an-email" if bad_second_email else ""] for i in range(n)]
    return write_csv(tmp_path / "people.csv", ["Firma", "Fornavn", "Etternavn", "E-post",
                                               "E-post 2"], rows)


@pytest.mark.parametrize("argv", [
    ["run", "{tmp}/missing.csv"],
    ["products", "{tmp}/missing.csv"],
    ["mapping", "{tmp}/missing.csv"],
    ["run", "{file}", "--settings", "{tmp}/missing.toml"],
    ["run", "{file}", "--mapping", "{tmp}/missing.toml"],
    ["run", "{file}", "--source", "lotus"],
    ["run", "{file}", "--encoding", "klingon"],
    ["run", "{file}", "--no-such-option"],
    ["erp", "{tmp}/missing.sqlite", "--actor-type", "customers"],
    ["erp", "{file}", "--actor-type", "vendors"],
    ["template", "leads", "-o", "{tmp}/t.xlsx"],
    ["show", "r20000101-000000-0000"],
    ["settings", "{tmp}/missing.toml"],
])
def test_a_usage_error_exits_2_in_one_line_and_records_no_run(tmp_path, argv):
    db = tmp_path / "crm.duckdb"
    file = people(tmp_path)
    crm("run", str(file), "--db", str(db))  # one run on record before
    args = [a.format(tmp=tmp_path, file=file) for a in argv]
    done = crm(*args, *(["--db", str(db)] if args[0] not in ("mapping", "settings") else []))
    assert done.returncode == 2, done
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert len(runs(db)) == 1
    as_json = crm(*args, "--json", *(["--db", str(db)] if args[0] not in ("mapping", "settings")
                                     else []))
    assert as_json.returncode == 2
    said = json.loads(as_json.stdout)  # with --json: one JSON object, also for a usage error
    assert said["status"] == "failed" and len(said["errors"]) == 1


def test_a_missing_file_says_so_by_name(tmp_path):
    done = crm("run", str(tmp_path / "kunder.xlsx"), "--db", str(tmp_path / "crm.duckdb"))
    assert f"{tmp_path / 'kunder.xlsx'}: no such file" in done.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_goes_before_or_after_the_command(tmp_path, where):
    db, file = tmp_path / "crm.duckdb", people(tmp_path)
    argv = ["-v", "run", str(file)] if where == "before" else ["run", str(file), "-v"]
    done = crm(*argv, "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert re.search(r"INFO crm_import: run r\S+: 2 rows read", done.stderr)


def test_verbose_counts_the_warnings_the_summary_counts(tmp_path):
    db, file = tmp_path / "crm.duckdb", people(tmp_path, 3, bad_second_email=True)
    done = crm("run", str(file), "--db", str(db), "--json", "-v")
    summary = json.loads(done.stdout)
    logged = int(re.search(r"rows rejected, (\d+) warnings", done.stderr).group(1))
    assert logged == len(summary["warnings"]) == 3


def test_the_settings_file_every_key_its_default_and_allowed_values(tmp_path):
    done = crm("settings", "-o", str(tmp_path / "policy.toml"))
    assert done.returncode == 0 and "policy.toml" in done.stdout
    text = (tmp_path / "policy.toml").read_text(encoding="utf-8")
    assert load_settings(tmp_path / "policy.toml") == ImportSettings()
    for section, model in ImportSettings.model_fields.items():
        name = model.alias or section
        assert f"\n[{name}]\n" in text
        for key in model.default_factory().__class__.model_fields:  # type: ignore[misc]
            assert re.search(rf"^{key} = ", text, re.M), key
    assert re.search(r'^match = "name" +# name \| name\+department \| number', text, re.M)
    assert re.search(r'^action = "merge" +# add \| merge \| replace \| skip', text, re.M)


def test_settings_errors_in_plain_words_all_at_once(tmp_path):
    bad = tmp_path / "policy.toml"
    bad.write_text('[import]\nmax_rejects = "10%"\n[company]\nmatch = "nam"\n'
                   'protect = ["nme"]\n[persn]\nmatch = "email"\n', encoding="utf-8")
    for argv in (["settings", str(bad)], ["run", str(people(tmp_path)), "--settings", str(bad),
                                          "--db", str(tmp_path / "crm.duckdb")]):
        done = crm(*argv)
        assert done.returncode == 2
        line = done.stderr.strip()
        assert "\n" not in line and line.startswith(f"error: {bad}: 4 problems")
        assert "'import.max_rejects': '10%' is not a number" in line
        assert "'nam' is not one of: name, name+department" in line
        assert "did you mean 'name'?" in line
        assert "unknown section [persn] — did you mean 'person'?" in line
        assert "unknown field 'nme' — did you mean 'name'?" in line
        for pydantic in ("Input should", "Value error", "float_parsing", "type=", "pydantic"):
            assert pydantic not in line
    assert runs(tmp_path / "crm.duckdb") == []


def test_show_warnings_lists_them_all_and_the_summary_points_there(tmp_path):
    db, file = tmp_path / "crm.duckdb", people(tmp_path, 130, bad_second_email=True)
    done = crm("run", str(file), "--db", str(db))
    run_id = re.search(r"^run (r\S+):", done.stdout, re.M).group(1)
    assert done.stdout.count("warning: row") == 10
    assert f"… 120 more warnings: crm-import show {run_id} --warnings --db {db}" in done.stdout
    listed = json.loads(crm("show", run_id, "--warnings", "--json", "--db", str(db)).stdout)
    assert len(listed["warnings"]) == 130
    assert [w["row"] for w in listed["warnings"]] == list(range(2, 132))
    text = crm("show", "last", "--warnings", "--db", str(db)).stdout
    assert "130 warnings:" in text and text.count("E-post 2: not a valid email") == 130


def test_counts_read_right_one_and_many(tmp_path):
    db = tmp_path / "crm.duckdb"
    file = write_csv(tmp_path / "one.csv", ["Firma", "Fornavn", "Etternavn", "E-post 2"],
                     [["Solo AS", "Ane", "Dahl", "nope"], ["", "", "", "nobody"]])
    text = crm("run", str(file), "--db", str(db)).stdout
    assert "1 rejected row:" in text and "2 rows read" in text
    undo = crm("undo", "last", "--dry-run", "--db", str(db)).stdout
    assert "would delete 1 person, 1 company" in undo, undo
    assert "0 fields" in undo and "0 removed records" in undo
    deleted = crm("selection", "delete", "last-new", "--dry-run", "--db", str(db)).stdout
    assert deleted.strip() == "would delete 1 company and 1 person"
    assert not re.search(r"\b1 (rows|warnings|fields|companies|persons|conflicts)\b",
                         text + undo + deleted)


def test_the_demo_hint_works_as_printed(tmp_path):
    done = crm("demo", "--db", str(tmp_path / "demo.duckdb"))
    hint = re.search(r"records that were there: (.*)$", done.stdout, re.M).group(1)
    assert hint.startswith("crm-import show r")
    again = subprocess.run(hint.replace("crm-import", CLI, 1), shell=True, capture_output=True,
                           text=True, env=ENV, cwd=tmp_path)
    assert again.returncode == 0 and re.search(r"changed \d+ values? in \d+ records? that "
                                               r"(was|were) there", again.stdout)
    under_uv = crm("demo", "--db", str(tmp_path / "demo2.duckdb"), env=ENV | {"UV": "/bin/uv"})
    assert "records that were there: uv run crm-import show r" in under_uv.stdout


def test_help_is_whole(tmp_path):
    top = crm("--help").stdout
    commands = top.split("Commands:")[1].splitlines()
    assert len(commands) > 10 and not any(ln.endswith("...") for ln in commands)  # none cut
    for command in ("run", "products", "erp", "mapping", "template", "runs", "show", "undo",
                    "purge", "serve", "erp-sample", "settings", "init-db", "demo"):
        text = crm(command, "--help").stdout
        assert "<bool>" not in text, command
    assert "excel, csv, outlook, google, thunderbird, vcard" in " ".join(
        crm("run", "--help").stdout.split())  # (whole, however the terminal wraps it)
    assert "product.price_list" in crm("products", "--help").stdout
    assert "data/demo.duckdb" in crm("demo", "--help").stdout
    bare = crm()
    assert bare.returncode == 0 and "Commands:" in bare.stdout


@pytest.mark.parametrize(("name", "make", "said"), [
    ("book.csv", "xlsx", "it is an Excel workbook, not a .csv file — rename it to .xlsx"),
    ("old.csv", "ole", "it is an Excel 97-2003 workbook or another Office file"),
    ("scan.xlsx", "pdf", "it is a PDF document, not a .xlsx file"),
    ("archive.csv", "zip", "it is a zip archive, not a .csv file"),
    ("list.xlsx", "csv", "it is a text file, not a spreadsheet — if it is a CSV export, "
                         "rename it to .csv"),
])
def test_a_file_is_told_by_its_content(tmp_path, name, make, said):
    import zipfile

    path = tmp_path / name
    if make == "xlsx":
        path.write_bytes((REPO / "data" / "samples" / "contacts.xlsx").read_bytes())
    elif make == "ole":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    elif make == "pdf":
        path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    elif make == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("contacts/readme.txt", "hello")
    else:
        path.write_text("Firma;Fornavn\nSolo AS;Ane\n", encoding="utf-8")
    done = crm("run", str(path), "--db", str(tmp_path / "crm.duckdb"), "--json")
    assert done.returncode == 1
    [error] = json.loads(done.stdout)["errors"]
    assert error.startswith(f"{path}: cannot read the file: {said}")


def test_no_wait_answers_at_once_even_through_prefect(tmp_path):
    """With PREFECT_API_URL set, a held CRM is said before any flow run is started: an
    unreachable server proves no flow was tried."""
    db, file = tmp_path / "crm.duckdb", people(tmp_path)
    seed(db)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from flows.config import open_crm;"
        " s = open_crm(sys.argv[2], note='run r-holder importing big.csv'); print('held', "
        "flush=True); time.sleep(60)"), str(REPO), str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        env = ENV | {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
        started = time.monotonic()
        done = crm("run", str(file), "--db", str(db), "--no-wait", "--json", env=env, timeout=60)
        assert time.monotonic() - started < 30  # (Prefect would fail later, on its own terms)
        said = json.loads(done.stdout)
        assert done.returncode == 1 and said["status"] == "failed"
        assert "in use by run r-holder importing big.csv" in said["errors"][0]
        assert "not waiting (--no-wait)" in said["errors"][0]
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(("argv", "hoisted"), [
    (["run", "f.csv", "-v"], ["-v", "run", "f.csv"]),
    (["-v", "run", "f.csv"], ["-v", "run", "f.csv"]),
    (["run", "--verbose", "f.csv", "-v"], ["-v", "run", "f.csv"]),
    (["run", "--", "-v"], ["run", "--", "-v"]),  # after `--` it is a file's name
    (["runs"], ["runs"]),
])
def test_verbose_is_hoisted_to_the_app(argv, hoisted):
    from flows.cli.common import hoist_verbose

    assert hoist_verbose(argv) == hoisted


def test_wrapped_lines_hang_under_their_text_on_a_terminal(capsys):
    import io

    from rich.console import Console

    from flows.cli.common import Out

    out = Out()
    out.terminal, out.console = True, Console(width=40, record=True, file=io.StringIO())
    out.line("an e-mail address that is not valid was dropped " * 2, label="warning: ")
    lines = out.console.export_text().splitlines()
    assert len(lines) > 1 and lines[0].startswith("  warning: an e-mail")
    assert all(ln.startswith(" " * len("  warning: ")) and ln.strip() for ln in lines[1:])
    off = Out()
    off.terminal = False  # a pipe or a file: one line, however long
    off.line("x " * 200, label="warning: ")
    assert capsys.readouterr().out == "  warning: " + "x " * 200 + "\n"


def test_an_internal_error_is_one_line_and_with_json_one_object(tmp_path):
    db, file = tmp_path / "crm.duckdb", people(tmp_path)
    env = ENV | {"CRM_IMPORT_FAIL_AT": "plan"}  # an exception no user error explains
    done = crm("run", str(file), "--db", str(db), "--json", env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    said = json.loads(done.stdout)
    assert said["status"] == "failed"
    assert said["errors"] == ["internal error: InjectedFault: fault injected at stage 'plan' "
                              "(CRM_IMPORT_FAIL_AT)"]
    verbose = crm("run", str(file), "--db", str(db), "-v", env=env)
    assert verbose.returncode == 1 and "Traceback (most recent call last)" in verbose.stderr


def test_a_link_to_the_crm_shares_its_lock(tmp_path):
    """(issue 22 #24: an import through a symlinked --db did not wait for one on the file)"""
    from contracts.errors import StoreUnavailable
    from flows.config import open_crm

    real = tmp_path / "crm.duckdb"
    (tmp_path / "link.duckdb").symlink_to(real)
    with open_crm(str(real), note="run r-holder"), \
            pytest.raises(StoreUnavailable, match="in use by run r-holder"):
        open_crm(str(tmp_path / "link.duckdb"), wait=False)


def test_purging_older_than_the_calendar_purges_nothing(tmp_path):
    """(issue 22 #22: `purge --older-than 1000000d` ended in an OverflowError)"""
    db = tmp_path / "crm.duckdb"
    crm("run", str(people(tmp_path)), "--db", str(db))
    done = crm("purge", "--older-than", "1000000d", "--db", str(db), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["runs"] == []


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_an_export_into_a_missing_folder_is_one_line(tmp_path, suffix):
    """(issue 22 #22: xlsxwriter's FileCreateError came out as a traceback)"""
    db = tmp_path / "crm.duckdb"
    crm("run", str(people(tmp_path)), "--db", str(db))
    out = str(tmp_path / "no" / "such" / f"x{suffix}")
    for argv in (["show", "last", "--rejects", "-o", out],
                 ["selection", "export", "last-new", "-o", out],
                 *([["template", "contacts", "-o", out]] if suffix == ".xlsx" else [])):
        done = crm(*argv, "--db", str(db))
        assert done.returncode == 2, done
        assert done.stderr.startswith(f"error: {out}: cannot write the export")
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr


def test_a_folder_import_leaves_links_out_of_the_folder_alone(tmp_path):
    """(issue 22 #18: a link to /etc/shadow in a folder was read, and an error quoted it)"""
    folder, outside = tmp_path / "inbox", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    people(folder)  # inbox/people.csv
    secret = write_csv(outside / "secret.csv", ["Firma", "Fornavn"], [["Hemmelig AS", "Ola"]])
    (folder / "secret.csv").symlink_to(secret)
    (folder / "inside.csv").symlink_to(folder / "people.csv")  # a link within: imported
    db = tmp_path / "crm.duckdb"
    done = crm("run", str(folder), "--db", str(db), "--json")
    batch = json.loads(done.stdout)
    assert sorted(Path(r["file"]).name for r in batch["runs"]) == ["inside.csv", "people.csv"]
    assert batch["skipped"] == [{"file": "secret.csv",
                                 "reason": "a link to a file outside the folder"}]
    text = crm("run", str(folder), "--db", str(db)).stdout
    assert "skipped secret.csv: a link to a file outside the folder" in text
    names = subprocess.run([CLI, "selection", "show", "last-new", "--db", str(db), "--json"],
                           capture_output=True, text=True, env=ENV).stdout
    assert "Hemmelig" not in names


def test_a_crm_where_no_lock_file_can_be_written_is_one_line(tmp_path):
    """(issue 22 #22: a CRM on a read-only disk ended in a traceback, even for `runs`)"""
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    db = tmp_path / "a-file" / "crm.duckdb"  # (its folder is a file: nothing can be written)
    done = crm("runs", "--db", str(db))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "internal error" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_disk_full_is_said_as_such():
    import errno

    import duckdb

    from flows.cli.common import disk_full

    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert disk_full(duckdb.TransactionException('Failed to commit: Could not write file '
                                                 '"crm.duckdb.wal": No space left on device'))
    assert not disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not disk_full(ValueError("x"))


def test_a_full_or_read_only_disk_is_one_line_and_the_crm_is_as_it_was(tmp_path):
    """On a real small disk (a tmpfs; it needs the right to mount, as root in CI has)."""
    from tests.conftest import table_hashes

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M", "none", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not allowed here")
    try:
        db = disk / "crm.duckdb"
        assert crm("run", str(people(tmp_path)), "--db", str(db)).returncode == 0
        before = table_hashes(db)
        free = os.statvfs(disk)
        (disk / "fill").write_bytes(bytes(max(free.f_bavail * free.f_frsize - 16384, 0)))
        many = write_csv(tmp_path / "many.csv", ["Firma", "Fornavn", "Etternavn", "Notat"],
                         [[f"Firma {i} AS", "Ola", f"N{i}", "x" * 200] for i in range(3000)])
        full = crm("run", str(many), "--db", str(db), "--json")
        assert full.returncode == 1 and "Traceback" not in full.stderr
        assert json.loads(full.stdout)["errors"][0].startswith("the disk is full")
        (disk / "fill").unlink()
        assert table_hashes(db) == before
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        ro = crm("runs", "--db", str(db))
        assert ro.returncode == 2 and "Read-only file system" in ro.stderr
        assert "Traceback" not in ro.stderr and len(ro.stderr.strip().splitlines()) == 1
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
