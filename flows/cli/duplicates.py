"""`crm-import duplicates`: likely duplicate pairs across the CRM, for review."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from contracts.errors import CrmImportError
from contracts.settings import DuplicatesSection
from flows.cli.common import (
    DbOpt,
    JsonOpt,
    _emit,
    _fail,
    _frame_table,
    _store,
    app,
    existing_file,
)
from transforms.wording import count, plural

duplicates_app = typer.Typer(rich_markup_mode=None)
app.add_typer(duplicates_app, name="duplicates")


@duplicates_app.callback(invoke_without_command=True)
def duplicates(
    ctx: typer.Context,
    entity: Annotated[str, typer.Option("--entity", help="person or company")] = "person",
    run: Annotated[str | None, typer.Option("--run", help="only pairs with a record this run "
                                            "created or changed (a run id, or last)")] = None,
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0,
                                             help="the least score listed (0–1)")] = (
        DuplicatesSection.model_fields["min_score"].default),
    output: Annotated[Path | None, typer.Option("-o", "--output", help="a review workbook "
                                                "(.xlsx, or .csv): both records side by side, "
                                                "an action column to fill in")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List likely duplicate pairs across the CRM, best first.

    Records no exact key joined but that probably are one person or company (a typo, a
    nickname, swapped names, a legal form written another way), with a score (0–1) and
    the evidence. Nothing is changed. How the score is made: docs/DUPLICATES.md.
    `crm-import duplicates apply review.xlsx` merges the pairs a review marks merge.
    """
    if ctx.invoked_subcommand:
        return
    try:
        _list(entity, run, min_score, output, db, as_json)
    except CrmImportError as exc:
        _fail(exc, as_json)


def _list(entity: str, run: str | None, min_score: float, output: Path | None,
          db: str | None, as_json: bool) -> None:
    from transforms.duplicates import crm_pairs, crm_records
    from transforms.runs import resolve_run

    if entity not in ("person", "company"):
        raise CrmImportError(f"--entity {entity}: person or company")
    with _store(db) as store:
        run_id = resolve_run(store, run) if run else None
        pairs = crm_pairs(store, entity, min_score=min_score, run_id=run_id)
        records = crm_records(store, entity) if output or not as_json else None
    if output is not None and records is not None:
        _review(pairs, records, entity, output)
    if as_json:
        _emit_pairs(entity, pairs)
        return
    assert records is not None
    if pairs.is_empty():
        typer.echo(f"no likely duplicate {plural(2, entity)} (score ≥ {min_score})")
        return
    _frame_table(_side_by_side(pairs, records, entity, ("name", "first_name", "last_name",
                                                        "postcode", "city")).head(50),
                 f"{count(pairs.height, 'likely duplicate pair')} of {plural(2, entity)}" + (
                     " (the first 50; -o review.xlsx has them all)" if pairs.height > 50
                     else ""))
    if output is not None:
        typer.echo(f"review: {output} — fill in the action column (merge, keep both)")


def _emit_pairs(entity: str, pairs: Any, slice_rows: int = 100_000) -> None:
    """The --json object, its pairs written as text by the frame (`evidence` is JSON text
    already), a slice at a time: 1.57M pairs made Python objects took 19 s and 1.5 GB."""
    import polars as pl

    items = pairs.select(pl.concat_str(
        pl.lit('{"a": '), "a", pl.lit(', "b": '), "b", pl.lit(', "score": '), "score",
        pl.lit(', "evidence": '), "evidence", pl.lit("}")))
    sys.stdout.write(f'{{"entity": {json.dumps(entity)}, "pairs": [')
    for i, part in enumerate(items.iter_slices(slice_rows)):
        sys.stdout.write((", " if i else "") + ", ".join(part.to_series().to_list()))
    sys.stdout.write("]}\n")


def _side_by_side(pairs: Any, records: Any, entity: str,
                  only: tuple[str, ...] | None = None) -> Any:
    """One row a pair: the score, both ids, each field of a and of b, the evidence."""
    import polars as pl

    fields = [c for c in records.columns if c != "id" and (only is None or c in only)]
    a = records.select(pl.col("id").alias("a"), *[pl.col(c).cast(pl.String).alias(f"a_{c}")
                                                   for c in fields])
    b = records.select(pl.col("id").alias("b"), *[pl.col(c).cast(pl.String).alias(f"b_{c}")
                                                   for c in fields])
    both = pairs.join(a, on="a", how="left").join(b, on="b", how="left")
    return both.select("score", "a", "b", *[x for c in fields for x in (f"a_{c}", f"b_{c}")],
                       *([] if only else ["evidence"]))


def _review(pairs: Any, records: Any, entity: str, output: Path) -> None:
    import polars as pl

    from transforms.export import write_table

    table = _side_by_side(pairs, records, entity)
    write_table(table.select(pl.lit(None, pl.String).alias("action"),
                             pl.lit(None, pl.String).alias("keep"), pl.lit(entity).alias("entity"),
                             pl.all()), output, sheet=f"{entity} pairs")


@duplicates_app.command("apply")
def apply(
    review: Annotated[Path, typer.Argument(callback=existing_file,
                                           help="a review file of `crm-import duplicates -o` "
                                                "with its action column filled in")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be merged; "
                                          "change nothing")] = False,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge the pairs a review marks merge; remember those marked keep both.

    The survivor is the keep column's id, else the older record (the smaller id): it keeps
    its filled fields and gets the other's where its own are empty; phones, e-mails, URLs
    and interests are unioned; a merged company's persons and the other record's places in
    selections move to it. One transaction, a run of kind merge: `crm-import undo RUN`
    puts both records back as they were.
    """
    try:
        _apply(review, dry_run, db, as_json)
    except CrmImportError as exc:
        _fail(exc, as_json)


def _apply(review: Path, dry_run: bool, db: str | None, as_json: bool) -> None:
    from transforms.merge import apply_review, read_review
    from transforms.sources import read_source

    raw = read_source(review)
    entity, decisions = read_review(str(review), raw.frame)
    with _store(db) as store:
        summary = apply_review(store, entity, decisions, file=str(review), dry_run=dry_run)
    if as_json:
        _emit(summary)
        return
    merged = len(summary["merged"])
    verb = "would merge" if dry_run else "merged"
    typer.echo(f"run {summary['run_id']}: {verb} {count(merged, 'pair')} of "
               f"{plural(2, entity)}, kept {summary['kept_both']} apart"
               + ("" if dry_run else f" — `crm-import undo {summary['run_id']}` puts them back"))
