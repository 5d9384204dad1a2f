"""Commands that import: run (a file or a folder), products, erp, mapping, template."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import typer

from contracts.actors import ACTOR_TYPES
from contracts.errors import CrmImportError
from flows.cli.common import (
    DbOpt,
    DryRunOpt,
    EncodingOpt,
    ExcludeRowsOpt,
    JsonOpt,
    MappingOpt,
    NoWaitOpt,
    SettingsOpt,
    SheetOpt,
    SourceOpt,
    _db,
    _emit,
    _fail,
    _import,
    _print_summary,
    _show,
    _store,
    _waiting,
    app,
    command,
    existing_file,
    existing_path,
    me,
)
from transforms.sources.registry import IMPORTABLE
from transforms.wording import count

FILE_TYPES = " ".join(sorted(IMPORTABLE))


def _path_or_account(value: Path) -> Path:
    """A file, a folder, or a connected account (google:NAME, microsoft:NAME)."""
    from flows.live.accounts import parse_target

    try:
        if parse_target(str(value)) is not None:
            return value
    except CrmImportError as exc:
        raise typer.BadParameter(str(exc)) from None
    return existing_path(value) or value


@command(app)
def run(
    file: Annotated[Path, typer.Argument(callback=_path_or_account, metavar="FILE|ACCOUNT",
                                         help="spreadsheet, CSV, vCard or JSON export to "
                                              "import, or a folder of them (one run per "
                                              "file, under one batch id); file types: "
                                              f"{FILE_TYPES}; or a connected account, "
                                              "google:NAME or microsoft:NAME (`crm-import "
                                              "connect`), whose contacts are pulled")],
    source: SourceOpt = "auto",
    settings: SettingsOpt = None,
    mapping: MappingOpt = None,
    sheet: SheetOpt = None,
    encoding: EncodingOpt = None,
    exclude_rows: ExcludeRowsOpt = None,
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
    other_contacts: Annotated[bool, typer.Option("--other-contacts", help="google:NAME: also "
                                                 "the \"other contacts\" Gmail collected")
                              ] = False,
    as_user: Annotated[str | None, typer.Option("--as", help="google:NAME of a service "
                                                "account: the user whose contacts are read")
                       ] = None,
    folder: Annotated[str | None, typer.Option("--folder", help="microsoft:NAME: a contact "
                                               "folder by name (default: Contacts)")] = None,
    user: Annotated[str | None, typer.Option("--user", help="microsoft:NAME with app-only "
                                             "access: the mailbox (user id or "
                                             "user@domain)")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import companies and persons from a file, folder or account.

    A folder imports each of its files as a run of its own, under one batch id. An account
    (google:NAME, microsoft:NAME) is pulled: all of its contacts the first time, what
    changed since the last completed run after that.
    """
    from flows.live.accounts import parse_target

    account = parse_target(str(file))
    live_options = {"--other-contacts": other_contacts, "--as": as_user, "--folder": folder,
                    "--user": user}
    if account is None and (given := [k for k, v in live_options.items() if v]):
        _fail(CrmImportError(f"{', '.join(given)}: for an account (google:NAME, "
                             "microsoft:NAME), not a file"), as_json)
    if account is not None:
        _run_account(as_json, account=account, db=db, settings=settings, dry_run=dry_run,
                     no_wait=no_wait, other_contacts=other_contacts, as_user=as_user,
                     folder=folder, user=user, mapping=mapping, sheet=sheet,
                     encoding=encoding, exclude_rows=exclude_rows, source=source,
                     once=once, runner=runner, chunks=chunks)
        return
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


def _run_account(as_json: bool, *, account, db: str | None, settings: Path | None,
                 dry_run: bool, no_wait: bool, other_contacts: bool, as_user: str | None,
                 folder: str | None, user: str | None, mapping: Path | None,
                 sheet: str | None, encoding: str | None, exclude_rows: str | None,
                 source: str, once: bool, runner: str, chunks: int) -> None:
    """`run google:NAME`: the account's contacts, pulled and imported as one run."""
    from contracts.settings import load_settings
    from flows.live import LiveRequest
    from flows.pipeline import ImportRequest

    file_only = {"--mapping": mapping, "--sheet": sheet, "--encoding": encoding,
                 "--exclude-rows": exclude_rows, "--source": source != "auto", "--once": once,
                 "--runner": runner != "local", "--chunks": chunks > 1}
    wrong = [k for k, v in file_only.items() if v]
    if account.provider == "google" and (folder or user):
        wrong.append("--folder/--user (microsoft:NAME)")
    if account.provider == "microsoft" and (other_contacts or as_user):
        wrong.append("--other-contacts/--as (google:NAME)")
    if wrong:
        _fail(CrmImportError(f"{account.target}: {', '.join(wrong)} do not apply to this "
                             "account"), as_json)
    live = LiveRequest(account.provider, account.name, other_contacts, as_user, folder, user)
    req = ImportRequest(file=account.target, db=_db(db), settings=load_settings(settings),
                        source=account.provider, dry_run=dry_run, wait=not no_wait, live=live)
    _import_and_exit(req, as_json)


def _run_folder(as_json: bool, *, file: Path, db: str | None, settings: Path | None,
                mapping: Path | None, source: str, dry_run: bool, no_wait: bool, runner: str,
                workers: int | None, sheet: str | None, encoding: str | None,
                exclude_rows: str | None, once: bool, chunks: int = 1) -> None:
    """A folder (or a file on Dask): the files' runs under one batch id, a batch summary."""
    from flows.batch import batch_summary, file_requests, import_each, new_batch_id

    if file.is_dir() and (sheet or encoding or exclude_rows):
        _fail(CrmImportError(f"{file}: --sheet, --encoding and --exclude-rows name one file's "
                             "sheet, encoding or rows; import that file on its own"), as_json)
    req = _request(file=file, db=db, settings=settings, mapping=mapping,
                   exclude_rows=exclude_rows, no_wait=no_wait, source=source,
                   dry_run=dry_run, once=once, sheet=sheet, encoding=encoding)
    batch_id = new_batch_id() if file.is_dir() else None
    if runner == "local" and not os.environ.get("PREFECT_API_URL"):
        from flows.cli.terminal import TerminalReporter

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
    if not file.is_dir():  # one file on Dask: its summary, as `run FILE` prints it
        summary = summaries[0]
        _show(summary, as_json, req.db)
        if summary["status"] == "failed":
            raise typer.Exit(1)
        return
    assert batch_id is not None  # (a folder has one)
    result = batch_summary(batch_id, str(file), runner, summaries)
    if as_json:
        _emit(result)
    else:
        for s in summaries:
            _print_summary(s, db)
            typer.echo("")
        for skipped in result.get("skipped", []):
            typer.echo(f"skipped {skipped['file']}: {skipped['reason']}")
        typer.echo(f"batch {batch_id}: {count(result['files'], 'file')}, {result['failed']} "
                   f"failed ({me('runs', db)} lists them)")
    if result["failed"]:
        raise typer.Exit(1)


def _run_import(as_json: bool, *, file: Path, db: str | None, settings: Path | None,
                mapping: Path | None, exclude_rows: str | None, no_wait: bool, **options) -> None:
    """The shared body of `run` and `products`: build the request, import, exit status."""
    req = _request(file=file, db=db, settings=settings, mapping=mapping,
                   exclude_rows=exclude_rows, no_wait=no_wait, **options)
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


@command(app)
def products(
    file: Annotated[Path, typer.Argument(callback=existing_file,
                                         help="spreadsheet or CSV of products")],
    price_list: Annotated[str | None, typer.Option("--price-list", help="price list to import "
                                                   "into (default: the settings' "
                                                   "product.price_list, \"Standard\")")] = None,
    settings: SettingsOpt = None,
    mapping: MappingOpt = None,
    sheet: SheetOpt = None,
    encoding: EncodingOpt = None,
    exclude_rows: ExcludeRowsOpt = None,
    dry_run: DryRunOpt = False,
    once: Annotated[bool, typer.Option("--once", help="refuse an identical file imported before")] = False,
    no_wait: NoWaitOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import products from a file into a price list.

    The price list is created if the CRM lacks it.
    """
    _run_import(as_json, file=file, db=db, settings=settings, mapping=mapping, kind="products",
                price_list=price_list, sheet=sheet, encoding=encoding, exclude_rows=exclude_rows,
                dry_run=dry_run, once=once, no_wait=no_wait)


def _actor_type(value: str) -> str:
    if value not in ACTOR_TYPES:
        raise typer.BadParameter(f"unknown actor type {value!r} — one of: "
                                 + ", ".join(ACTOR_TYPES))
    return value


@command(app)
def erp(
    connection: Annotated[str, typer.Argument(help="a SQLite file, a postgresql:// URL, or an "
                                                   "export file (CSV/Excel/JSON)")],
    actor_type: Annotated[str, typer.Option("--actor-type", callback=_actor_type,
                                            help=f"which ERP actors: {', '.join(ACTOR_TYPES)}")],
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
    """Import customers, suppliers or individuals from an ERP.

    They are matched on their ERP key, which the CRM records keep.
    """
    from contracts.settings import load_settings
    from flows.pipeline import ImportRequest
    from transforms.erp import ErpRequest, parse_where, safe_connection

    if "://" not in connection and not Path(connection).is_file():
        raise typer.BadParameter(f"{connection}: no such file (give a SQLite file, an export "
                                 "file or a postgresql:// URL)", param_hint="'CONNECTION'")
    request = ErpRequest(connection, actor_type, profile, parse_where(where or []))
    req = ImportRequest(file=safe_connection(connection), db=_db(db), source="erp",
                        settings=load_settings(settings), erp=request, dry_run=dry_run,
                        wait=not no_wait)
    _import_and_exit(req, as_json)


@command(app)
def mapping(
    file: Annotated[Path, typer.Argument(callback=existing_file,
                                         help="spreadsheet, CSV or contact export")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write a mapping TOML")] = None,
    mapping_file: Annotated[Path | None, typer.Option("--mapping", callback=existing_file,
                                                      help="start from this mapping")] = None,
    sheet: SheetOpt = None,
    encoding: EncodingOpt = None,
    kind: Annotated[Literal["contacts", "products"], typer.Option("--kind")] = "contacts",
    source: SourceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Show (and save) the automatic column mapping of FILE."""
    import tomli_w

    from flows.config import max_unpacked_mb
    from transforms.mapping import IGNORE, auto_map, load_mapping_file
    from transforms.sources import read_source
    from transforms.sources.contacts import CONTACT_SOURCES, describe_export

    raw = read_source(file, sheet=sheet, encoding=encoding, source=source,
                      max_unpacked_mb=max_unpacked_mb())
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


@command(app)
def template(
    kind: Annotated[Literal["contacts", "products"], typer.Argument(help="what the template "
                                                                   "is for")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the .xlsx to write")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write an import template (.xlsx) to fill in.

    Our headers in order, a note on each, drop-downs of the CRM's list values.
    """
    from transforms.template import write_template

    with _store(db) as store:
        columns = write_template(store, kind, output)
    if as_json:
        _emit({"template": kind, "file": str(output), "columns": columns})
    else:
        typer.echo(f"{kind} template with {count(len(columns), 'column')} written to {output}")
