"""Commands on runs and their selections: runs, show, selection show|export|delete, undo,
purge."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.common import (
    DbOpt,
    JsonOpt,
    NoWaitOpt,
    _console,
    _db,
    _emit,
    _frame_table,
    _print_summary,
    _store,
    app,
    command,
    selection_app,
)


@command(app)
def runs(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the import runs, newest first."""
    from transforms.runs import list_runs

    with _store(db) as store:
        frame = list_runs(store)
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


@command(app)
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
    from transforms.runs import rejected_records, run_rejects, run_summary

    with _store(db) as store:
        summary = run_summary(store, run_id)
        bad = run_rejects(store, run_id) if rejects else None
        if rejects and output:
            write_table(rejects_frame(*rejected_records(store, run_id)), output, sheet="rejects")
            summary = {**summary, "rejects_file": str(output)}
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


@command(selection_app, "show")
def selection_show(
    selection_id: Annotated[str, typer.Argument(help="RUN_ID-new or RUN_ID-updated")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the members of a selection."""
    from transforms.runs import selection_members

    with _store(db) as store:
        members = selection_members(store, selection_id)
    if as_json:
        _emit({"selection_id": selection_id, "members": members.to_dicts()})
        return
    _console().print(_frame_table(members, selection_id))


@command(selection_app, "export")
def selection_export(
    selection_id: Annotated[str, typer.Argument(help="RUN_ID-new or RUN_ID-updated")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".xlsx or .csv")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export the members of a selection with their key fields."""
    from transforms.export import write_table
    from transforms.runs import selection_export_frame

    with _store(db) as store:
        frame = selection_export_frame(store, selection_id)
    write_table(frame, output, sheet="selection")
    result = {"selection_id": selection_id, "rows": frame.height, "file": str(output)}
    if as_json:
        _emit(result)
    else:
        typer.echo(f"{frame.height} records written to {output}")


@command(selection_app, "delete")
def selection_delete(
    selection_id: Annotated[str, typer.Argument(help="RUN_ID-new or RUN_ID-updated")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count only")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete the selection's records (recorded as a run: `undo` brings them back)."""
    from transforms.selection import delete_selection

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
    if as_json:
        _emit(result)
    else:
        verb = "would delete" if dry_run else "deleted"
        typer.echo(f"{verb} {result['deleted']['company']} companies and "
                   f"{result['deleted']['person']} persons"
                   + ("" if dry_run else f" (run {result['run_id']}; undo brings them back)"))


@command(app)
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

    if os.environ.get("PREFECT_API_URL"):
        from flows.prefect_flows import undo_flow
        from transforms.store.urls import hide_password

        result = undo_flow(run_id=run_id, db=hide_password(_db(db)), force=force,
                           dry_run=dry_run)
    else:
        with _store(db, wait=not no_wait) as store:
            result = undo_run(store, run_id, force=force, dry_run=dry_run).as_dict()
    if as_json:
        _emit(result)
        return
    typer.echo(f"run {run_id}: {result['status']}: {result['message']}")
    for c in result["conflicts"][:20]:
        what = f"{c['entity']} {c['entity_id']}" + (f" {c['field']}" if c.get("field") else "")
        typer.echo(f"  conflict: {what}: {c['reason']}")


@command(app)
def purge(
    older_than: Annotated[str, typer.Option("--older-than", help="age, e.g. 90d, 12w, 36h")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list the runs only")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete staging rows and change-log values of old runs (personal data)."""
    from transforms.selection import parse_age
    from transforms.selection import purge as purge_runs

    age = parse_age(older_than)
    with _store(db) as store:
        result = purge_runs(store, older_than=age, dry_run=dry_run)
    if as_json:
        _emit(result)
    else:
        verb = "would purge" if dry_run else "purged"
        typer.echo(f"{verb} {len(result['runs'])} runs started before {result['cutoff']}")
