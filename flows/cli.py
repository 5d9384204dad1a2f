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
from transforms.sources.registry import SOURCES

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Bulk import of companies, persons and products into a CRM.")
selection_app = typer.Typer(no_args_is_help=True, help="Work with the selections of a run.")
app.add_typer(selection_app, name="selection")

DEFAULT_DB = "data/crm.duckdb"
DbOpt = Annotated[str | None, typer.Option("--db", help="CRM database: a DuckDB file or a "
                                           "postgresql://user@host:port/db URL (default "
                                           "$CRM_IMPORT_DB, else data/crm.duckdb)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="if another crm-import holds the "
                                         "CRM, fail at once instead of waiting")]
SettingsOpt = Annotated[Path | None, typer.Option(help="import policy (TOML)")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="plan and stage only; change "
                                         "nothing in the CRM")]


def _waiting(holder: str) -> None:
    typer.echo(f"waiting for {holder} to finish with this CRM …", err=True)


def _store(db: str | None, *, wait: bool = True):
    from flows.config import open_crm

    return open_crm(_db(db), wait=wait, on_wait=_waiting)


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
        self._told = False  # a chunked run says how far it is itself
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
            if not self._told:
                self._progress.advance(self._task)

    def progress(self, share: float) -> None:
        if self._progress is not None:
            self._told = True
            self._progress.update(self._task, completed=7 * min(share, 1.0))

    def summary(self, summary: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress.stop()

    def rejects(self, rejects) -> None:
        pass


def _console():
    """A rich console on stdout; wide when it is not a terminal (pipes, files)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 220, soft_wrap=False)


def _frame_table(frame, title: str | None = None):
    """A polars frame as a rich table (values as text, empty cells blank)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for c in frame.columns:
        table.add_column(c, overflow="fold", no_wrap=c in ("run_id", "started_at", "status"))
    for row in frame.iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


def _print_summary(s: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    out = console.print
    out(f"run [bold]{s['run_id']}[/]: {s['status']}  ({s.get('source')} · {s.get('file')})",
        highlight=False)
    out(f"  rows read {s['rows']['read']}, rejected {s['rows']['rejected']}"
        + (f", excluded {s['rows']['excluded']}" if s["rows"].get("excluded") else ""),
        highlight=False)
    entities = [e for e in ("company", "person", "product") if any(s[e].values())]
    if entities:
        counts = Table(box=None, padding=(0, 2), pad_edge=False)
        counts.add_column("  entity")
        for outcome in s[entities[0]]:
            counts.add_column(outcome, justify="right")
        for entity in entities:
            counts.add_row(f"  {entity}", *[str(v) for v in s[entity].values()])
        out(counts)
    if s.get("mapping", {}).get("unmapped"):
        out("  unmapped columns: " + ", ".join(s["mapping"]["unmapped"]), highlight=False)
    if s["selections"].get("new"):
        out(f"  selections: {s['selections']['new']}, {s['selections']['updated']}",
            highlight=False)
    for w in s["warnings"][:10]:
        where = f"row {w['row']}, {w['column']}: " if w.get("row") else ""
        out(f"  warning: {where}{w['message']}", highlight=False, markup=False)
    if len(s["warnings"]) > 10:
        out(f"  … {len(s['warnings']) - 10} more warnings (crm-import show {s['run_id']})",
            highlight=False)
    for e in s["errors"]:
        out(f"  error: {e}", highlight=False, markup=False)


def _import(req, as_json: bool) -> dict[str, Any]:
    if os.environ.get("PREFECT_API_URL"):
        from flows.prefect_flows import run_with_prefect

        summary = run_with_prefect(req)
    else:
        from flows.pipeline import import_contacts

        summary = import_contacts(req, report=None if as_json else TerminalReporter(),
                                  on_wait=_waiting)
    _show(summary, as_json)
    return summary


def _show(summary: dict[str, Any], as_json: bool) -> None:
    _emit(summary) if as_json else _print_summary(summary)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress (INFO) "
                                                "to stderr")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="spreadsheet, CSV, vCard (.vcf) or JSON export "
                                               "to import, or a folder of them (one run per "
                                               "file, under one batch id)")],
    source: Annotated[str, typer.Option(help="|".join(SOURCES) + " (auto: by "
                                             "extension and header signature)")] = "auto",
    settings: SettingsOpt = None,
    mapping: Annotated[Path | None, typer.Option(help="column mapping (TOML)")] = None,
    sheet: Annotated[str | None, typer.Option(help="sheet name (default: first with data)")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of a CSV or vCard "
                                                     "(default: detected)")] = None,
    exclude_rows: Annotated[str | None, typer.Option("--exclude-rows",
                                                     help="rows to leave out, e.g. 3,7-9")] = None,
    dry_run: DryRunOpt = False,
    once: Annotated[bool, typer.Option("--once", help="refuse a file whose identical copy "
                                       "was imported before")] = False,
    no_wait: NoWaitOpt = False,
    runner: Annotated[str, typer.Option(help="where files are read, mapped and validated: "
                                              "local (this process), dask (a local Dask "
                                              "cluster) or dask://HOST:PORT (a running Dask "
                                              "scheduler); planning and the load stay here")
                      ] = "local",
    workers: Annotated[int | None, typer.Option(help="Dask workers of a local cluster "
                                                     "(default 2)")] = None,
    chunks: Annotated[int, typer.Option(min=1, help="with a Dask runner: validate each file "
                                                    "as this many tasks (shares of its rows)")
                      ] = 1,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import companies and persons from FILE (or from every file of a folder)."""
    if runner != "local" and runner != "dask" and not runner.startswith("dask://"):
        _fail(CrmImportError(f"--runner {runner}: not a runner — allowed: local, dask, "
                             "dask://HOST:PORT"), as_json)
    if chunks > 1 and runner == "local":
        _fail(CrmImportError("--chunks splits files into tasks for a Dask runner; add "
                             "--runner dask (or dask://HOST:PORT)"), as_json)
    if file.is_dir() or runner != "local":
        _run_folder(as_json, file=file, db=db, settings=settings, mapping=mapping,
                    source=source, dry_run=dry_run, no_wait=no_wait, runner=runner,
                    workers=workers, sheet=sheet, encoding=encoding, exclude_rows=exclude_rows,
                    once=once, chunks=chunks)
        return
    _run_import(as_json, file=file, db=db, settings=settings, mapping=mapping, source=source,
                sheet=sheet, encoding=encoding, exclude_rows=exclude_rows, dry_run=dry_run,
                once=once, no_wait=no_wait)


def _run_folder(as_json: bool, *, file: Path, db: str | None, settings: Path | None,
                mapping: Path | None, source: str, dry_run: bool, no_wait: bool, runner: str,
                workers: int | None, sheet: str | None, encoding: str | None,
                exclude_rows: str | None, once: bool, chunks: int = 1) -> None:
    """A folder (or a file on Dask): the files' runs under one batch id, a batch summary."""
    from flows.batch import batch_summary, file_requests, import_each, new_batch_id

    if file.is_dir() and (sheet or encoding or exclude_rows):
        _fail(CrmImportError(f"{file}: --sheet, --encoding and --exclude-rows name one file's "
                             "sheet, encoding or rows; import that file on its own"), as_json)
    try:
        req = _request(file=file, db=db, settings=settings, mapping=mapping,
                       exclude_rows=exclude_rows, no_wait=no_wait, source=source,
                       dry_run=dry_run, once=once, sheet=sheet, encoding=encoding)
        batch_id = new_batch_id() if file.is_dir() else None
        if runner == "local" and not os.environ.get("PREFECT_API_URL"):
            summaries = import_each(file_requests(req, file, batch_id),
                                    report=None if as_json else TerminalReporter,
                                    on_wait=_waiting)
        else:
            from flows.prefect_flows import run_folder_with_prefect

            if not os.environ.get("PREFECT_API_URL"):
                typer.echo("no PREFECT_API_URL: starting Prefect's temporary server for the "
                           "Dask runner (10-30 s)…", err=True)
            summaries = run_folder_with_prefect(req, str(file), batch_id=batch_id,
                                                runner=runner, workers=workers, chunks=chunks)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if not file.is_dir():  # one file on Dask: its summary, as `run FILE` prints it
        summary = summaries[0]
        _show(summary, as_json)
        if summary["status"] == "failed":
            raise typer.Exit(1)
        return
    result = batch_summary(batch_id, str(file), runner, summaries)
    if as_json:
        _emit(result)
    else:
        for s in summaries:
            _print_summary(s)
            typer.echo("")
        typer.echo(f"batch {batch_id}: {result['files']} files, {result['failed']} failed "
                   f"(crm-import runs lists them)")
    if result["failed"]:
        raise typer.Exit(1)


def _run_import(as_json: bool, *, file: Path, db: str | None, settings: Path | None,
                mapping: Path | None, exclude_rows: str | None, no_wait: bool, **options) -> None:
    """The shared body of `run` and `products`: build the request, import, exit status."""
    try:
        req = _request(file=file, db=db, settings=settings, mapping=mapping,
                       exclude_rows=exclude_rows, no_wait=no_wait, **options)
    except CrmImportError as exc:
        _fail(exc, as_json)
    _import_and_exit(req, as_json)


def _request(*, file: Path, db: str | None, settings: Path | None, mapping: Path | None,
             exclude_rows: str | None, no_wait: bool, **options):
    """The ImportRequest of a file (or folder) command line; bad settings raise."""
    from contracts.settings import load_settings
    from flows.pipeline import ImportRequest
    from transforms.report import parse_row_list

    return ImportRequest(file=str(file), db=_db(db), settings=load_settings(settings),
                         mapping_file=str(mapping) if mapping else None,
                         exclude_rows=tuple(parse_row_list(exclude_rows)), wait=not no_wait,
                         **options)


def _import_and_exit(req, as_json: bool) -> None:
    """Run the import; a failed run exits non-zero (after printing its summary)."""
    if _import(req, as_json)["status"] == "failed":
        raise typer.Exit(1)


@app.command()
def products(
    file: Annotated[Path, typer.Argument(help="spreadsheet or CSV of products")],
    price_list: Annotated[str | None, typer.Option("--price-list", help="price list to import "
                                                   "into (default: [product] price_list)")] = None,
    settings: SettingsOpt = None,
    mapping: Annotated[Path | None, typer.Option(help="column mapping (TOML)")] = None,
    sheet: Annotated[str | None, typer.Option(help="sheet name (default: first with data)")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of a CSV or vCard "
                                                     "(default: detected)")] = None,
    exclude_rows: Annotated[str | None, typer.Option("--exclude-rows",
                                                     help="rows to leave out, e.g. 3,7-9")] = None,
    dry_run: DryRunOpt = False,
    once: Annotated[bool, typer.Option("--once", help="refuse an identical file imported before")] = False,
    no_wait: NoWaitOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import products from FILE into a price list (created if missing)."""
    _run_import(as_json, file=file, db=db, settings=settings, mapping=mapping, kind="products",
                price_list=price_list, sheet=sheet, encoding=encoding, exclude_rows=exclude_rows,
                dry_run=dry_run, once=once, no_wait=no_wait)


@app.command()
def erp(
    connection: Annotated[str, typer.Argument(help="a SQLite file, a postgresql:// URL, or an "
                                                   "export file (CSV/Excel/JSON)")],
    actor_type: Annotated[str, typer.Option("--actor-type",
                                            help="customers | suppliers | individuals")],
    profile: Annotated[str | None, typer.Option(help="a shipped profile (northwind, generic) "
                                                     "or a profile TOML file")] = None,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="FIELD=VALUE, several combine with AND (values are bound, not pasted)")
    ] = None,
    settings: SettingsOpt = None,
    dry_run: DryRunOpt = False,
    no_wait: NoWaitOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import customers, suppliers or individuals from an ERP (matched on their ERP key)."""
    from contracts.settings import load_settings
    from flows.pipeline import ImportRequest
    from transforms.erp import ErpRequest, parse_where, safe_connection

    try:
        request = ErpRequest(connection, actor_type, profile, parse_where(where or []))
        req = ImportRequest(file=safe_connection(connection), db=_db(db), source="erp",
                            settings=load_settings(settings), erp=request, dry_run=dry_run,
                            wait=not no_wait)
    except CrmImportError as exc:
        _fail(exc, as_json)
    _import_and_exit(req, as_json)


@app.command()
def serve(
    folder: Annotated[Path, typer.Option(help="drop folder: files in FOLDER/inbox are "
                                              "imported, then moved to done/ or failed/")] =
    Path("drop"),
    cron: Annotated[str, typer.Option(help="when to look in the inbox (cron)")] = "*/5 * * * *",
    erp_connection: Annotated[str | None, typer.Option("--erp", help="also sync this ERP "
                                                       "(SQLite file or postgresql:// URL)")] = None,
    actor_type: Annotated[str, typer.Option("--actor-type", help="ERP actors to sync")] =
    "customers",
    profile: Annotated[str | None, typer.Option(help="ERP profile")] = None,
    erp_cron: Annotated[str, typer.Option(help="when to sync the ERP (cron)")] = "0 2 * * *",
    db: DbOpt = None,
) -> None:
    """Serve the deployments (drop folder, ERP sync, any import on demand) to a Prefect
    server: set PREFECT_API_URL first (e.g. `prefect server start`, see the README)."""
    if not os.environ.get("PREFECT_API_URL"):
        _fail(CrmImportError("no Prefect server: PREFECT_API_URL is not set — start one with "
                             "`prefect server start --host 127.0.0.1` and set "
                             "PREFECT_API_URL=http://127.0.0.1:4200/api"), False)
    from flows.prefect_flows import serve_deployments
    from transforms.store.urls import is_postgres, safe_connection

    for url in (_db(db), erp_connection or ""):
        if safe_connection(url) != url:  # deployment parameters are stored on the server
            _fail(CrmImportError(f"{safe_connection(url)}: a served deployment must not carry a "
                                 "password in its URL (the server stores the parameters); use "
                                 "PGPASSWORD, ~/.pgpass or CRM_IMPORT_DB_SECRET (a Prefect "
                                 "Secret block) instead"), False)
    erp = ({"connection": erp_connection, "actor_type": actor_type, "profile": profile}
           if erp_connection else None)
    target = _db(db) if is_postgres(_db(db)) else str(Path(_db(db)).resolve())
    serve_deployments(folder=str(folder.resolve()), db=target, cron=cron, erp=erp,
                      erp_cron=erp_cron)


@app.command("erp-sample")
def erp_sample(
    output: Annotated[Path, typer.Option("-o", "--output", help="the SQLite file to write")] =
    Path("data/samples/erp/northwind.sqlite"),
    sql: Annotated[Path | None, typer.Option(help="the PostgreSQL dump to load (default: "
                                                  "../shared/fixtures/erp/northwind_psql_pthom.sql)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the sample ERP (Northwind) as a SQLite file from its PostgreSQL dump."""
    from transforms.erp import build_sample

    source = sql or Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "erp" / \
        "northwind_psql_pthom.sql"
    if not source.is_file():
        _fail(CrmImportError(f"{source}: no such file — give the Northwind dump with --sql"),
              as_json)
    counts = build_sample(source, output)
    if as_json:
        _emit({"file": str(output), "tables": counts})
        return
    typer.echo(f"{output}: " + ", ".join(f"{t} {n}" for t, n in counts.items() if n))


@app.command()
def template(
    kind: Annotated[str, typer.Argument(help="contacts | products")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the .xlsx to write")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write an import template: our headers, a note on each, drop-downs of the CRM's lists."""
    from transforms.template import write_template

    try:
        if kind not in ("contacts", "products"):
            raise typer.BadParameter("contacts or products")
        with _store(db) as store:
            columns = write_template(store, kind, output)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit({"template": kind, "file": str(output), "columns": columns})
    else:
        typer.echo(f"{kind} template with {len(columns)} columns written to {output}")


@app.command()
def runs(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the import runs, newest first."""
    from transforms.runs import list_runs

    try:
        with _store(db) as store:
            frame = list_runs(store)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit({"runs": frame.to_dicts()})
        return
    if frame.height == 0:
        typer.echo("no runs yet")
        return
    import polars as pl

    shown = frame.with_columns(  # the terminal shows names and seconds; --json has it all
        pl.col("file").str.replace(r"^.*[/\\]", ""),
        pl.col("started_at").dt.strftime("%Y-%m-%d %H:%M:%S"))
    if shown["batch_id"].null_count() == shown.height:
        shown = shown.drop("batch_id")  # (a column only once folders were imported)
    else:
        shown = shown.with_columns(pl.col("batch_id").fill_null(""))
    _console().print(_frame_table(shown, "import runs, newest first"))


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="a run id from `crm-import runs`")],
    rejects: Annotated[bool, typer.Option("--rejects", help="list the rejected rows")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="with --rejects: write "
                                                "the rejected rows as they came in, plus row, "
                                                "column and reason, to .xlsx or .csv")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one run: its summary, and with --rejects its rejected rows."""
    from transforms.export import rejects_frame, write_table
    from transforms.runs import run_rejects, run_summary

    try:
        with _store(db) as store:
            summary = run_summary(store, run_id)
            bad = run_rejects(store, run_id) if rejects else None
            if rejects and output:
                raw = store.staging.query("SELECT r.source_row, r.record FROM staging.raw_rows r WHERE "
                                  "r.run_id = ? AND r.source_row IN (SELECT source_row FROM "
                                  "staging.rejects WHERE run_id = ?)", [run_id, run_id])
                why = store.staging.query('SELECT source_row, "column", reason FROM staging.rejects '
                                  "WHERE run_id = ? ORDER BY source_row", [run_id])
                write_table(rejects_frame(raw, why), output, sheet="rejects")
                summary = {**summary, "rejects_file": str(output)}
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        if bad is not None:
            summary = {**summary, "rejects": bad.to_dicts()}
        _emit(summary)
        return
    _print_summary(summary)
    if bad is not None:
        _console().print(_frame_table(bad, "rejected rows"))
    if summary.get("rejects_file"):
        typer.echo(f"rejected rows written to {summary['rejects_file']}")


@selection_app.command("show")
def selection_show(
    selection_id: Annotated[str, typer.Argument(help="RUN_ID-new or RUN_ID-updated")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the members of a selection."""
    from transforms.runs import selection_members

    try:
        with _store(db) as store:
            members = selection_members(store, selection_id)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit({"selection_id": selection_id, "members": members.to_dicts()})
        return
    _console().print(_frame_table(members, selection_id))


@selection_app.command("export")
def selection_export(
    selection_id: Annotated[str, typer.Argument(help="RUN_ID-new or RUN_ID-updated")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".xlsx or .csv")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export the members of a selection with their key fields."""
    from transforms.export import write_table
    from transforms.runs import selection_export_frame

    try:
        with _store(db) as store:
            frame = selection_export_frame(store, selection_id)
        write_table(frame, output, sheet="selection")
    except CrmImportError as exc:
        _fail(exc, as_json)
    result = {"selection_id": selection_id, "rows": frame.height, "file": str(output)}
    if as_json:
        _emit(result)
    else:
        typer.echo(f"{frame.height} records written to {output}")


@selection_app.command("delete")
def selection_delete(
    selection_id: Annotated[str, typer.Argument(help="RUN_ID-new or RUN_ID-updated")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count only")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete the selection's records (recorded as a run: `undo` brings them back)."""
    from transforms.selection import delete_selection

    try:
        with _store(db) as store:
            preview = delete_selection(store, selection_id, dry_run=True)
            n = preview["deleted"]
            if not dry_run and not yes and sys.stdin.isatty() and not as_json:
                total = n["company"] + n["person"]
                answer = typer.prompt(f"delete {n['company']} companies and {n['person']} persons? "
                                      f"type {total} to confirm", default="")
                if answer.strip() != str(total):
                    typer.echo("nothing deleted")
                    raise typer.Exit(1)
            result = preview if dry_run else delete_selection(store, selection_id)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit(result)
    else:
        verb = "would delete" if dry_run else "deleted"
        typer.echo(f"{verb} {result['deleted']['company']} companies and "
                   f"{result['deleted']['person']} persons"
                   + ("" if dry_run else f" (run {result['run_id']}; undo brings them back)"))


@app.command()
def undo(
    run_id: Annotated[str, typer.Argument(help="a run id from `crm-import runs`")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report only")] = False,
    force: Annotated[bool, typer.Option("--force", help="also restore values changed after "
                                        "the run, and delete records edited since")] = False,
    no_wait: NoWaitOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Undo a run: delete what it created, restore what it changed (one transaction)."""
    from transforms.undo import undo_run

    try:
        if os.environ.get("PREFECT_API_URL"):
            from flows.prefect_flows import undo_flow
            from transforms.store.urls import hide_password

            result = undo_flow(run_id=run_id, db=hide_password(_db(db)), force=force,
                               dry_run=dry_run)
        else:
            with _store(db, wait=not no_wait) as store:
                result = undo_run(store, run_id, force=force, dry_run=dry_run).as_dict()
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit(result)
        return
    typer.echo(f"run {run_id}: {result['status']}: {result['message']}")
    for c in result["conflicts"][:20]:
        what = f"{c['entity']} {c['entity_id']}" + (f" {c['field']}" if c.get("field") else "")
        typer.echo(f"  conflict: {what}: {c['reason']}")


@app.command()
def purge(
    older_than: Annotated[str, typer.Option("--older-than", help="age, e.g. 90d, 12w, 36h")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list the runs only")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete staging rows and change-log values of old runs (personal data)."""
    from transforms.selection import parse_age
    from transforms.selection import purge as purge_runs

    try:
        age = parse_age(older_than)
        with _store(db) as store:
            result = purge_runs(store, older_than=age, dry_run=dry_run)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit(result)
    else:
        verb = "would purge" if dry_run else "purged"
        typer.echo(f"{verb} {len(result['runs'])} runs started before {result['cutoff']}")


@app.command()
def mapping(
    file: Annotated[Path, typer.Argument(help="spreadsheet, CSV or contact export")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write a mapping TOML")] = None,
    mapping_file: Annotated[Path | None, typer.Option("--mapping", help="start from this mapping")] = None,
    sheet: Annotated[str | None, typer.Option(help="sheet name")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of a CSV")] = None,
    kind: Annotated[str, typer.Option("--kind", help="contacts | products")] = "contacts",
    source: Annotated[str, typer.Option(help="|".join(SOURCES))] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Show (and save) the automatic column mapping of FILE."""
    import tomli_w

    from transforms.mapping import IGNORE, auto_map, load_mapping_file
    from transforms.sources import read_source
    from transforms.sources.contacts import CONTACT_SOURCES, describe_export

    try:
        raw = read_source(file, sheet=sheet, encoding=encoding, source=source)
        overrides = load_mapping_file(mapping_file)
        if kind == "products":
            from contracts.fields import PRODUCT_ALIASES

            result = auto_map(raw.headers, overrides, aliases=PRODUCT_ALIASES, generic_aliases={})
            taken, unmapped = result.columns, result.unmapped
        elif raw.source in CONTACT_SOURCES:
            taken, unmapped = describe_export(raw, overrides)
        else:
            result = auto_map(raw.headers, overrides)
            taken, unmapped = result.columns, result.unmapped
    except CrmImportError as exc:
        _fail(exc, as_json)
    names = raw.headers if raw.long is None else [*taken, *unmapped]
    columns = {h: taken.get(h, IGNORE) for h in names}
    if output:
        if raw.long is not None:
            _fail(CrmImportError(f"{file}: a {raw.format} file has properties, not columns: "
                                 "there is no column mapping to save"), as_json)
        text = ("# crm-import column mapping: \"Header in the file\" = \"field\" "
                "(\"\" leaves a column out)\n" + tomli_w.dumps({"columns": columns}))
        output.write_text(text, encoding="utf-8")
    if as_json:
        _emit({"file": str(file), "source": raw.source, "format": raw.format,
               "columns": taken, "unmapped": unmapped})
        return
    if raw.format:
        typer.echo(f"{file}: {raw.format} ({raw.source})")
    width = max((len(h) for h in names), default=10)
    for h in names:
        typer.echo(f"  {h:<{width}}  →  {taken.get(h, '(unmapped)')}")
    if output:
        typer.echo(f"written to {output}")


@app.command("init-db")
def init_db(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Create the CRM schema (or bring it up to date) — for a database owner, once, when the
    users who import may not create tables."""
    try:
        with _store(db) as store:
            result = {"status": "completed", "db": store.target, "store": store.kind,
                      "schema_version": store.schema_version()}
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit(result)
    else:
        typer.echo(f"{result['db']}: crm-import schema version {result['schema_version']}")


@app.command()
def demo(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Seed a demo CRM and import the bundled sample spreadsheet: the main job, end to end."""
    from flows.demo import run_demo
    from transforms.store.urls import safe_connection

    target = db or "data/demo.duckdb"
    try:
        seeded, summary = run_demo(target)
    except CrmImportError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit(summary)
    else:
        target = safe_connection(target)
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
