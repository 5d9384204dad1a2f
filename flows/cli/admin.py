"""Commands that set things up: serve (Prefect deployments), erp-sample, init-db, demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from contracts.errors import CrmImportError
from flows.cli.common import (
    DbOpt,
    JsonOpt,
    _db,
    _emit,
    _fail,
    _print_summary,
    _store,
    app,
    command,
    existing_file,
    me,
)


@command(app)
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
    google: Annotated[list[str] | None, typer.Option(
        "--google", metavar="NAME", help="also sync this connected Google account "
                                         "(google:NAME; repeat for more)")] = None,
    microsoft: Annotated[list[str] | None, typer.Option(
        "--microsoft", metavar="NAME", help="also sync this connected Microsoft account "
                                            "(microsoft:NAME; repeat for more)")] = None,
    sync_cron: Annotated[str, typer.Option(help="when to sync the accounts (cron)")] =
    "0 * * * *",
    db: DbOpt = None,
) -> None:
    """Serve the Prefect deployments (drop folder, ERP, accounts).

    Also any import on demand. Set PREFECT_API_URL first (e.g. `prefect server start`, see
    the README).
    """
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
    live = [_connected(provider, name) for provider, names in (("google", google),
                                                                 ("microsoft", microsoft))
            for name in names or []]
    target = _db(db) if is_postgres(_db(db)) else str(Path(_db(db)).resolve())
    serve_deployments(folder=str(folder.resolve()), db=target, cron=cron, erp=erp,
                      erp_cron=erp_cron, live=live, sync_cron=sync_cron)


def _connected(provider: str, name: str) -> dict[str, str]:
    """A served account's flow parameters: its name (the tokens stay in the store, which
    must be this machine's: the served flows run here)."""
    from flows.live import accounts

    account = accounts.parse_target(f"{provider}:{name.removeprefix(provider + ':')}")
    assert account is not None
    try:
        accounts.load(account)
    except CrmImportError as exc:
        _fail(exc, False)
    return {"provider": account.provider, "account": account.name}


@command(app, "erp-sample")
def erp_sample(
    output: Annotated[Path, typer.Option("-o", "--output", help="the SQLite file to write")] =
    Path("data/samples/erp/northwind.sqlite"),
    sql: Annotated[Path | None, typer.Option(callback=existing_file,
                                             help="the PostgreSQL dump to load (default: the "
                                                  "one shipped, data/samples/erp/northwind.sql)")
                   ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the sample ERP (Northwind) as a SQLite file.

    From the PostgreSQL dump shipped in data/samples/erp/.
    """
    from flows.demo import SAMPLES
    from transforms.erp import build_sample

    source = sql or SAMPLES / "erp" / "northwind.sql"
    counts = build_sample(source, output)
    if as_json:
        _emit({"file": str(output), "tables": counts})
        return
    typer.echo(f"{output}: " + ", ".join(f"{t} {n}" for t, n in counts.items() if n))


@command(app)
def settings(
    file: Annotated[Path | None, typer.Argument(callback=existing_file,
                                                help="a settings file to check (and, with -o, "
                                                     "to write out with every key)")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the settings "
                                                "file here instead of printing it")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or write the import settings, every key explained.

    Every key with its default and allowed values; with FILE, that file checked (every
    problem at once) and every key at its values.
    """
    from contracts.settings import load_settings, settings_file

    chosen = load_settings(file)
    text = settings_file(chosen)
    if output:
        output.write_text(text, encoding="utf-8")
    if as_json:
        _emit({"status": "completed", "file": str(output) if output else None,
               "settings": chosen.as_toml_dict()})
    elif output:
        typer.echo(f"settings written to {output} (use it with --settings {output})")
    else:
        typer.echo(text, nl=False)


@command(app, "init-db")
def init_db(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Create or upgrade the CRM schema (for a database owner).

    Once, when the users who import may not create tables.
    """
    with _store(db) as store:
        result = {"status": "completed", "db": store.target, "store": store.kind,
                  "schema_version": store.schema_version()}
    if as_json:
        _emit(result)
    else:
        typer.echo(f"{result['db']}: crm-import schema version {result['schema_version']}")


@command(app)
def demo(db: Annotated[str | None, typer.Option("--db", help="the demo CRM (default "
                                                   "data/demo.duckdb)")] = None,
         as_json: JsonOpt = False) -> None:
    """Import the sample spreadsheet into a seeded demo CRM."""
    from flows.demo import run_demo
    from transforms.store.urls import safe_connection

    target = db or "data/demo.duckdb"
    seeded, summary = run_demo(target)
    if as_json:
        _emit(summary)
    else:
        target = safe_connection(target)
        typer.echo(f"demo CRM {target}: seeded with {seeded['company']['new']} companies and "
                   f"{seeded['person']['new']} persons; now importing the sample spreadsheet\n")
        _print_summary(summary, target)
        typer.echo("\nwhat it changed in the records that were there: "
                   + me(f"show {summary['run_id']} --changes", target))
        if twice := [e for e, n in seeded.get("suggestions", {}).items() if n]:
            typer.echo("records the seed holds twice, written another way: "
                       + "; ".join(me(f"duplicates --entity {e}", target) for e in twice))
    if summary["status"] == "failed":
        raise typer.Exit(1)
