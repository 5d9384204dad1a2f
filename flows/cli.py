"""`crm-import`: the command line (SPEC §5). stdout carries results; logs go to stderr.

Without PREFECT_API_URL the pipeline runs in-process and Prefect is never imported
(importing it alone costs ~3 s); with it, every import runs as a tracked Prefect flow.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from contracts.errors import CrmImportError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Bulk import of companies, persons and products into a CRM.")
selection_app = typer.Typer(no_args_is_help=True, help="Work with the selections of a run.")
app.add_typer(selection_app, name="selection")

DEFAULT_DB = "data/crm.duckdb"
DbOpt = Annotated[str | None, typer.Option("--db", help="CRM database: a DuckDB file "
                                           "(default $CRM_IMPORT_DB, else data/crm.duckdb)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def _db(db: str | None) -> str:
    return db or os.environ.get("CRM_IMPORT_DB") or DEFAULT_DB


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def _fail(exc: CrmImportError, as_json: bool) -> None:
    if as_json:
        _emit({"status": "failed", "errors": [str(exc)]})
    else:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


class TerminalReporter:
    """A progress display on stderr when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self._progress = None
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                      BarColumn(), TimeElapsedColumn(),
                                      console=Console(stderr=True), transient=True)
            self._task = self._progress.add_task("import", total=7)

    @contextmanager
    def stage(self, name: str):
        if self._progress is None:
            yield
            return
        self._progress.start()
        self._progress.update(self._task, description=name)
        try:
            yield
        finally:
            self._progress.advance(self._task)

    def summary(self, summary: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress.stop()

    def rejects(self, rejects) -> None:
        pass


def _print_summary(s: dict[str, Any]) -> None:
    out = typer.echo
    out(f"run {s['run_id']}: {s['status']}  ({s.get('source')} · {s.get('file')})")
    out(f"  rows read {s['rows']['read']}, rejected {s['rows']['rejected']}"
        + (f", excluded {s['rows']['excluded']}" if s["rows"].get("excluded") else ""))
    for entity in ("company", "person", "product"):
        counts = s[entity]
        if any(counts.values()):
            out(f"  {entity:8} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if s.get("mapping", {}).get("unmapped"):
        out("  unmapped columns: " + ", ".join(s["mapping"]["unmapped"]))
    if s["selections"].get("new"):
        out(f"  selections: {s['selections']['new']}, {s['selections']['updated']}")
    for w in s["warnings"][:10]:
        where = f"row {w['row']}, {w['column']}: " if w.get("row") else ""
        out(f"  warning: {where}{w['message']}")
    if len(s["warnings"]) > 10:
        out(f"  … {len(s['warnings']) - 10} more warnings (crm-import show {s['run_id']})")
    for e in s["errors"]:
        out(f"  error: {e}")


def _import(req, as_json: bool) -> dict[str, Any]:
    if os.environ.get("PREFECT_API_URL"):
        from flows.prefect_flows import run_with_prefect

        summary = run_with_prefect(req)
    else:
        from flows.pipeline import import_contacts

        summary = import_contacts(req, report=None if as_json else TerminalReporter())
    if as_json:
        _emit(summary)
    else:
        _print_summary(summary)
    return summary


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress (INFO) "
                                                "to stderr")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="spreadsheet or CSV to import")],
    source: Annotated[str, typer.Option(help="auto|excel|csv")] = "auto",
    settings: Annotated[Path | None, typer.Option(help="import policy (TOML)")] = None,
    mapping: Annotated[Path | None, typer.Option(help="column mapping (TOML)")] = None,
    sheet: Annotated[str | None, typer.Option(help="sheet name (default: first with data)")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of a CSV")] = None,
    exclude_rows: Annotated[str | None, typer.Option("--exclude-rows",
                                                     help="rows to leave out, e.g. 3,7-9")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="plan and stage only; "
                                          "change nothing in the CRM")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import companies and persons from FILE."""
    from contracts.settings import load_settings
    from flows.pipeline import ImportRequest
    from transforms.report import parse_row_list

    try:
        req = ImportRequest(
            file=str(file), db=_db(db), settings=load_settings(settings), source=source,
            mapping_file=str(mapping) if mapping else None, sheet=sheet, encoding=encoding,
            exclude_rows=tuple(parse_row_list(exclude_rows)), dry_run=dry_run)
    except CrmImportError as exc:
        _fail(exc, as_json)
    summary = _import(req, as_json)
    if summary["status"] == "failed":
        raise typer.Exit(1)


@app.command()
def runs(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the import runs, newest first."""
    from transforms.runs import list_runs
    from transforms.store import open_store

    try:
        with open_store(_db(db)) as store:
            frame = list_runs(store)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit({"runs": frame.to_dicts()})
        return
    with _wide():
        typer.echo(frame if frame.height else "no runs yet")


@contextmanager
def _wide():
    import polars as pl

    with pl.Config(tbl_rows=200, tbl_cols=20, fmt_str_lengths=60, tbl_width_chars=200):
        yield


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="a run id from `crm-import runs`")],
    rejects: Annotated[bool, typer.Option("--rejects", help="list the rejected rows")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one run: its summary, and with --rejects its rejected rows."""
    from transforms.runs import run_rejects, run_summary
    from transforms.store import open_store

    try:
        with open_store(_db(db)) as store:
            summary = run_summary(store, run_id)
            bad = run_rejects(store, run_id) if rejects else None
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        if bad is not None:
            summary = {**summary, "rejects": bad.to_dicts()}
        _emit(summary)
        return
    _print_summary(summary)
    if bad is not None:
        with _wide():
            typer.echo(bad)


@selection_app.command("show")
def selection_show(
    selection_id: Annotated[str, typer.Argument(help="RUN_ID-new or RUN_ID-updated")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the members of a selection."""
    from transforms.runs import selection_members
    from transforms.store import open_store

    try:
        with open_store(_db(db)) as store:
            members = selection_members(store, selection_id)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit({"selection_id": selection_id, "members": members.to_dicts()})
        return
    with _wide():
        typer.echo(members)


@app.command()
def mapping(
    file: Annotated[Path, typer.Argument(help="spreadsheet or CSV")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write a mapping TOML")] = None,
    mapping_file: Annotated[Path | None, typer.Option("--mapping", help="start from this mapping")] = None,
    sheet: Annotated[str | None, typer.Option(help="sheet name")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of a CSV")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show (and save) the automatic column mapping of FILE."""
    import tomli_w

    from transforms.mapping import IGNORE, auto_map, load_mapping_file
    from transforms.sources import read_source

    try:
        raw = read_source(file, sheet=sheet, encoding=encoding)
        result = auto_map(raw.headers, load_mapping_file(mapping_file))
    except CrmImportError as exc:
        _fail(exc, as_json)
    columns = {h: result.columns.get(h, IGNORE) for h in raw.headers}
    if output:
        text = ("# crm-import column mapping: \"Header in the file\" = \"field\" "
                "(\"\" leaves a column out)\n" + tomli_w.dumps({"columns": columns}))
        output.write_text(text, encoding="utf-8")
    if as_json:
        _emit({"file": str(file), "columns": result.columns, "unmapped": result.unmapped})
        return
    width = max((len(h) for h in raw.headers), default=10)
    for h in raw.headers:
        typer.echo(f"  {h:<{width}}  →  {result.columns.get(h, '(unmapped)')}")
    if output:
        typer.echo(f"written to {output}")


@app.command()
def demo(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Seed a demo CRM and import the bundled sample spreadsheet: the main job, end to end."""
    from flows.demo import run_demo

    target = db or "data/demo.duckdb"
    try:
        seeded, summary = run_demo(target)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit(summary)
    else:
        typer.echo(f"demo CRM {target}: seeded with {seeded['company']['new']} companies and "
                   f"{seeded['person']['new']} persons; now importing the sample spreadsheet\n")
        _print_summary(summary)
        typer.echo(f"\nlook around: crm-import show {summary['run_id']} --rejects --db {target}")
    if summary["status"] == "failed":
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
