"""Staging tables for analysts (SPEC §5): what came in, what matched, what was decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from transforms.store import sql as q
from transforms.store.base import CrmStore
from transforms.store.schema import outcome_rows

if TYPE_CHECKING:
    from transforms.plan import Plan
    from transforms.products import ProductPlan


def _write(store: CrmStore, table: str, frame: pl.DataFrame, run_id: str) -> None:
    if frame.height == 0:
        return
    store.append(table, frame.select(pl.lit(run_id).alias("run_id"), pl.all()))


CHUNK = 250_000  # rows of the file per write: the JSON and long forms are built a chunk at a time


class InputsWriter:
    """Writes what came in (`write_inputs`) on a connection of its own, in a thread, while
    the plan is made: the two share no table. `wait()` re-raises what went wrong."""

    def __init__(self, store: CrmStore, *, run_id: str, raw: pl.DataFrame, canonical: pl.DataFrame,
                 records: pl.DataFrame | None = None):
        import threading
        import time

        self.error: BaseException | None = None
        self.seconds = 0.0
        self._writer = store.staging.cursor()

        def work() -> None:
            started = time.perf_counter()
            try:
                write_inputs(self._writer, run_id=run_id, raw=raw, canonical=canonical,
                             records=records)
            except BaseException as exc:  # handed to wait()
                self.error = exc
            finally:
                self.seconds = round(time.perf_counter() - started, 3)

        self._thread = threading.Thread(target=work, name="staging-inputs", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()
        self._writer.close()
        if self.error is not None:
            raise self.error


def write_inputs(store: CrmStore, *, run_id: str, raw: pl.DataFrame, canonical: pl.DataFrame,
                 records: pl.DataFrame | None = None) -> None:
    """staging.raw_rows: the file's records, each with its mapped values (`fields`, which
    the view staging.canonical unpivots). `records`: (source_row, record) as JSON already
    (a live source's API records)."""
    record = pl.struct(pl.exclude("source_row")).struct.json_encode()
    if records is not None:
        raw, record = records, pl.col("record")
    value_cols = [c for c in canonical.columns if c != "source_row" and not c.startswith("_")
                  and not c.endswith("__key")]
    values = canonical.select("source_row", *[pl.col(c).cast(pl.String) for c in value_cols])
    fields = q.fields_list(value_cols)
    # a chunk at a time: the records as JSON would otherwise sit in memory whole, beside
    # everything else
    for start in range(0, raw.height, CHUNK):
        part = (raw.slice(start, CHUNK).select(pl.lit(run_id).alias("run_id"), "source_row",
                                               record.alias("record"))
                .join(values, on="source_row", how="left"))
        store.run_with(part, lambda name: (
            "INSERT INTO staging.raw_rows (run_id, source_row, record, fields) SELECT "
            f"run_id, source_row, record, {fields} FROM {q.ident(name)}"))
    store.unregister_all()


CREATED = pl.Schema([("entity", pl.String), ("source_rows", pl.List(pl.Int64)),
                     ("crm_ids", pl.List(pl.Int64))])


def created_rows(plan: Plan | ProductPlan, new_of_group: dict[str, pl.DataFrame]
                 ) -> pl.DataFrame:
    """(entity, source_rows, crm_ids) of the records a load created, a row an entity that
    created some (staging.created's): its plan's new rows, each with the id its group was
    created under. (As lists until staged: a row each took 0.5 GB at 10M rows.)"""
    return pl.concat([pl.DataFrame(schema=CREATED)] + [
        plan.row_plan.filter((pl.col("entity") == entity) & (pl.col("outcome") == "new"))
        .drop("crm_id").join(ids, on="group")
        .select(pl.lit(entity).alias("entity"), pl.col("source_row").implode().alias(
            "source_rows"), pl.col("crm_id").implode().alias("crm_ids"))
        for entity, ids in new_of_group.items() if ids.height], how="vertical_relaxed")


def record_new_ids(store: CrmStore, *, run_id: str, created: list[pl.DataFrame],
                   suggestions: pl.DataFrame | None = None) -> None:
    """Once the run has committed (a preview: once it is recorded): the ids its new
    records were created under (staging.created, shown by staging.plan), so that a created
    CRM record can be tied to its source row; and the run's suggestions are staged, naming
    the records made (their own, and a new candidate's). Staged with the ids at once:
    updating 643,346 suggestions after the fact took 2.4 s at 1M rows. A run that fails
    stages none (the records they name were never made)."""
    lists = pl.concat([pl.DataFrame(schema=CREATED), *created])
    staging = store.staging
    try:
        # (a row a chunk and entity, which staging.plan shows: updating staging.outcomes
        # instead rewrote each row that created a record)
        _write(staging, "staging.created", lists, run_id)
        if suggestions is not None:
            # (the records the suggestions name, before joining: a join against every
            # record made took 2.3 GB at 10M rows, for no suggestion)
            named = pl.concat([suggestions["source_row"],
                               suggestions["candidate_row"].drop_nulls()]).unique()
            made = (lists.lazy().explode("source_rows", "crm_ids")
                    .filter(pl.col("source_rows").is_in(named.implode()))
                    .select(pl.col("source_rows").alias("source_row"), "entity",
                            pl.col("crm_ids").alias("crm_id")).collect(engine="streaming"))
            _write(staging, "staging.suggestions", suggestions.join(
                made, on=["source_row", "entity"], how="left").join(
                made.rename({"source_row": "candidate_row", "crm_id": "made_id"}),
                on=["candidate_row", "entity"], how="left").select(
                "source_row", "entity", "crm_id",
                pl.coalesce("candidate_id", "made_id").alias("candidate_id"),
                "candidate_row", "score", "evidence"), run_id)
    finally:
        staging.unregister_all()


def write_outcomes(store: CrmStore, *, run_id: str, rejects: pl.DataFrame, warnings: pl.DataFrame,
                   plan: Plan | ProductPlan | None) -> None:
    """staging.rejects, warnings, candidates, plan and changes: what became of each row
    (its suggestions: `record_new_ids`)."""
    store = store.staging
    _write(store, "staging.rejects",
           rejects.select("source_row", "column", "field", "value", "reason"), run_id)
    _write(store, "staging.warnings",
           warnings.select("source_row", "column", "field", "value", "code", "reason"), run_id)
    if plan is not None:
        changes = pl.concat([
            ep.changes.join(ep.decisions.select("group", "first_row"), on="group", how="left")
            .select(pl.col("first_row").alias("source_row"), pl.lit(entity).alias("entity"),
                    "crm_id", "field", "old_value",
                    pl.coalesce(pl.col("new_value"),
                                pl.when(pl.col("target_group").is_not_null())
                                .then(pl.lit("(new company)"))).alias("new_value"))
            for entity, ep in plan.entities.items()
        ], how="vertical_relaxed")
        values = pl.concat([
            plan.value_inserts.select("owner_kind", "group", "crm_id", "table",
                                      pl.lit(None, pl.String).alias("old_value"),
                                      pl.col("value").alias("new_value")),
            plan.value_deletes.select("owner_kind", "group", "crm_id", "table",
                                      pl.col("value").alias("old_value"),
                                      pl.lit(None, pl.String).alias("new_value")),
        ])
        firsts = pl.concat([
            ep.decisions.select(pl.lit(entity).alias("owner_kind"), "group", "first_row")
            for entity, ep in plan.entities.items()])
        values = (values.join(firsts, on=["owner_kind", "group"], how="left")
                  .select(pl.col("first_row").alias("source_row"), pl.col("owner_kind").alias("entity"),
                          "crm_id", pl.col("table").alias("field"), "old_value", "new_value"))
        # (a row per source row, its entries as lists: staging.plan, .changes and
        # .candidates are views over them)
        _write(store, "staging.outcomes", outcome_rows({
            "plan": plan.row_plan,
            "changes": pl.concat([changes, values], how="vertical_relaxed").sort("source_row"),
            "candidates": plan.candidates}), run_id)
    store.unregister_all()
