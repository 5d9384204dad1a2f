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
    Out,
    _db,
    _emit,
    _print_summary,
    _store,
    app,
    command,
    selection_app,
)
from transforms.wording import count, plural

RunIdArg = Annotated[str, typer.Argument(metavar="RUN_ID", help="a run id from `crm-import "
                                         "runs`, or `last` for the newest run")]
UndoRunArg = Annotated[str, typer.Argument(metavar="RUN_ID", help="a run id from `crm-import "
                                           "runs`, or `last` for the newest completed run")]
SelectionArg = Annotated[str, typer.Argument(metavar="SELECTION", help="RUN_ID-new or "
                                             "RUN_ID-updated (`last-new`, `last-updated`: "
                                             "the newest completed run's)")]


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
    out = Out()
    out.table(_runs_table(frame), "import runs, newest first", flexible=("file",), wrap=False,
              keep=("run_id", "status", "file", "companies", "persons", "rows"))
    out.line("companies, persons, products: +created ~updated", indent=0)


def _runs_table(frame):
    """The runs as people read them: a file's name, the minute it started, and per entity
    `+created ~updated` in one narrow column (--json has every count)."""
    import polars as pl

    def counts(entity: str) -> pl.Expr:
        new, updated = pl.col(f"{entity}_new"), pl.col(f"{entity}_updated")
        return (pl.when(pl.col("status") != "failed")
                .then(pl.format("+{} ~{}", new, updated)).otherwise(pl.lit("")))

    shown = frame.select(
        "run_id", pl.col("started_at").dt.strftime("%Y-%m-%d %H:%M").alias("started"),
        "status", "source", pl.col("file").str.replace(r"^.*[/\\]", ""),
        pl.col("rows_read").alias("rows"), pl.col("rows_rejected").alias("rejected"),
        counts("company").alias("companies"), counts("person").alias("persons"),
        counts("product").alias("products"), pl.col("batch_id").fill_null("").alias("batch"))
    no_products = frame["product_new"].sum() + frame["product_updated"].sum() == 0
    empty = ["products"] * no_products + ["batch"] * (shown["batch"] == "").all()
    return shown.drop(empty)  # (columns only once products or folders were imported)


@command(app)
def show(
    run_id: RunIdArg,
    rejects: Annotated[bool, typer.Option("--rejects", help="list the rejected rows")] = False,
    warnings: Annotated[bool, typer.Option("--warnings", help="list every warning (paged on "
                                           "a terminal)")] = False,
    changes: Annotated[bool, typer.Option("--changes", help="list the field changes to records "
                                          "that were there, old → new (also of a preview)")
                       ] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="with --rejects: write "
                                                "the rejected rows as they came in, plus row, "
                                                "column and reason, to .xlsx or .csv")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a run: summary, rejected rows, warnings, changes."""
    from transforms.export import rejects_frame, write_table
    from transforms.runs import (
        rejected_records,
        resolve_run,
        run_changes,
        run_rejects,
        run_summary,
        run_warnings,
    )

    if output and not rejects:
        raise typer.BadParameter("-o writes the rejected rows: add --rejects")
    with _store(db) as store:
        run_id = resolve_run(store, run_id)
        summary = run_summary(store, run_id)
        bad = run_rejects(store, run_id) if rejects else None
        warned = run_warnings(store, run_id, summary) if warnings else None
        changed = run_changes(store, run_id) if changes else None
        if rejects and output:
            write_table(rejects_frame(*rejected_records(store, run_id)), output, sheet="rejects")
            summary = {**summary, "rejects_file": str(output)}
    if as_json:
        extra = {"rejects": bad, "warnings": warned, "changes": changed}
        _emit({**summary, **{k: v.to_dicts() for k, v in extra.items() if v is not None}})
        return
    if warned is not None or changed is not None:
        _show_lists(summary, warned, changed)
        return
    _print_summary(summary, db, hints=bad is None)
    if bad is not None:
        Out().table(bad, f"rejected rows ({bad['row'].n_unique()})", flexible=("value", "reason"))
    if summary.get("rejects_file"):
        typer.echo(f"rejected rows written to {summary['rejects_file']}")


def _show_lists(summary: dict, warned, changed) -> None:
    """A run's warnings and changes in full: paged when they are longer than a terminal."""
    import polars as pl

    out = Out()
    lines = [f"run {summary['run_id']}: {summary['status']}  ({summary.get('file')})"]
    if warned is not None:
        lines.append(f"{count(warned.height, 'warning')}:")
        for row, column, _code, message in warned.iter_rows():
            lines.append(f"  {f'row {row}, {column}: ' if row is not None else ''}{message}")
    if changed is not None:
        verb = "would change" if summary["status"] == "preview" else "changed"
        there = changed.filter(pl.col("crm_id").is_not_null())  # new records: no "old"
        records = there.select("entity", "crm_id").n_unique()
        lines.append(f"{verb} {count(there.height, 'value')} in {count(records, 'record')} "
                     f"that {plural(records, 'was')} there:")
        last = None
        for entity, crm_id, record, row, field, old, new in there.iter_rows():
            if (entity, crm_id) != last:
                lines.append(f"  {entity} {crm_id} {record or ''} (row {row})")
                last = (entity, crm_id)
            lines.append(f"    {field}: {_value(old)} → {_value(new)}")
        if there.height < changed.height:
            lines.append(f"(and {count(changed.height - there.height, 'value')} of new records: "
                         "phones, e-mails, URLs, interests; --json lists them)")
    if out.terminal and len(lines) > out.console.height - 2:
        with out.console.pager():
            out.console.print("\n".join(lines), markup=False, highlight=False)
        return
    for line in lines:
        out.line(line, indent=0)


def _value(v: str | None) -> str:
    return "(empty)" if v is None or v == "" else repr(v) if v != v.strip() else v


@command(selection_app, "show")
def selection_show(
    selection_id: SelectionArg,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the members of a selection."""
    from transforms.runs import resolve_selection, selection_members

    with _store(db) as store:
        selection_id = resolve_selection(store, selection_id)
        members = selection_members(store, selection_id)
    if as_json:
        _emit({"selection_id": selection_id, "members": members.to_dicts()})
        return
    Out().table(members, f"{selection_id}: {count(members.height, 'record')}",
                flexible=("name", "detail"))


@command(selection_app, "export")
def selection_export(
    selection_id: SelectionArg,
    output: Annotated[Path, typer.Option("-o", "--output", help=".xlsx or .csv")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export the members of a selection with their key fields."""
    from transforms.export import write_table
    from transforms.runs import resolve_selection, selection_export_frame

    with _store(db) as store:
        selection_id = resolve_selection(store, selection_id)
        frame = selection_export_frame(store, selection_id)
    write_table(frame, output, sheet="selection")
    result = {"selection_id": selection_id, "rows": frame.height, "file": str(output)}
    if as_json:
        _emit(result)
    else:
        typer.echo(f"{count(frame.height, 'record')} written to {output}")


@command(selection_app, "delete")
def selection_delete(
    selection_id: SelectionArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count only")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete the selection's records (recorded as a run: `undo` brings them back)."""
    from transforms.runs import resolve_selection
    from transforms.selection import delete_selection

    with _store(db) as store:
        selection_id = resolve_selection(store, selection_id)
        preview = delete_selection(store, selection_id, dry_run=True)
        n = preview["deleted"]
        if not dry_run and not yes and sys.stdin.isatty() and not as_json:
            total = n["company"] + n["person"]
            answer = typer.prompt(f"delete {count(n['company'], 'company')} and "
                                  f"{count(n['person'], 'person')}? type {total} to confirm",
                                  default="")
            if answer.strip() != str(total):
                typer.echo("nothing deleted")
                raise typer.Exit(1)
        result = preview if dry_run else delete_selection(store, selection_id)
    if as_json:
        _emit(result)
    else:
        verb = "would delete" if dry_run else "deleted"
        typer.echo(f"{verb} {count(result['deleted']['company'], 'company')} and "
                   f"{count(result['deleted']['person'], 'person')}"
                   + ("" if dry_run else f" (run {result['run_id']}; undo brings them back)"))


@command(app)
def undo(
    run_id: UndoRunArg,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report only")] = False,
    force: Annotated[bool, typer.Option("--force", help="also restore values changed after "
                                        "the run, and delete records edited since")] = False,
    no_wait: NoWaitOpt = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Undo a run: delete what it created, restore what it changed.

    One transaction; values changed since the run are conflicts, left alone unless --force.
    """
    from transforms.runs import resolve_run
    from transforms.undo import undo_run

    if run_id == "last":
        with _store(db, wait=not no_wait) as store:
            run_id = resolve_run(store, run_id, completed=True)
    if os.environ.get("PREFECT_API_URL"):
        from flows.prefect_flows import undo_with_prefect
        from transforms.store.urls import hide_password

        result = undo_with_prefect(run_id, hide_password(_db(db)), force=force,
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
    compact: Annotated[bool, typer.Option("--compact", help="then rewrite the database so "
                                          "that the purged values are gone from its free "
                                          "space too (PostgreSQL: VACUUM FULL)")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete old runs' staging rows and logged values.

    They hold personal data; a purged run can no longer be undone.
    """
    from transforms.selection import parse_age
    from transforms.selection import purge as purge_runs

    age = parse_age(older_than)
    with _store(db) as store:
        result = purge_runs(store, older_than=age, dry_run=dry_run)
        if compact and not dry_run:
            result["compacted"] = store.compact()
    if as_json:
        _emit(result)
    else:
        verb = "would purge" if dry_run else "purged"
        typer.echo(f"{verb} {count(len(result['runs']), 'run')} started before "
                   f"{result['cutoff']}")
        if result.get("compacted"):
            typer.echo(result["compacted"])
