"""Apply a plan to the CRM in one transaction: inserts, field updates, multi-valued adds and
removals, new list items, the change log, the selections and the run's counts.

Every statement is set-based (insert-select or UPDATE … FROM a staged frame); values reach
SQL only through registered frames and parameters. The SQL comes from `transforms.store.sql`
so that another store can run the same plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from transforms.plan import COMPANY_COLUMNS, PERSON_COLUMNS, Plan
from transforms.store import COLUMN_TYPES
from transforms.store import sql as q
from transforms.store.base import CrmStore
from transforms.store.schema import VALUE_STORAGE


def _plan_columns(table: str) -> tuple[str, dict[str, str]]:
    """(id column, {CRM column: plan column}) of a value table."""
    vt = VALUE_STORAGE[table]
    columns = {"owner_kind": "owner_kind", "owner_id": "owner_id",
               **({"kind": "kind"} if vt.kind else {}), vt.value: "value",
               **({vt.e164: "e164"} if vt.e164 else {}), **({"rank": "rank"} if vt.rank else {})}
    return vt.id_column, columns


VALUE_TABLES = {t: _plan_columns(t) for t in VALUE_STORAGE}  # in the order of SPEC §5
LOG_SCHEMA = pl.Schema({"entity": pl.String, "entity_id": pl.Int64, "op": pl.String, "field": pl.String,
              "old_value": pl.String, "new_value": pl.String})


@dataclass(frozen=True)
class IdRange:
    """Rows of one table a run inserted under the ids first_id … last_id (change_log_range)."""
    entity: str
    first_id: int
    last_id: int

    @property
    def size(self) -> int:
        return self.last_id - self.first_id + 1


@dataclass(frozen=True)
class LoadResult:
    new_ids: dict[str, pl.Series]  # entity → ids created
    updated_ids: dict[str, pl.Series]  # entity → ids changed
    changes: int  # change_log rows written
    new_of_group: dict[str, pl.DataFrame] = dataclasses.field(default_factory=dict)  # entity → group, crm_id


def _json(frame: pl.DataFrame, columns: list[str]) -> pl.Expr:
    return pl.struct([pl.col(c) for c in columns]).struct.json_encode()


def _new_records(dec: pl.DataFrame, columns: dict[str, str], ids: pl.Series, key: str) -> pl.DataFrame:
    present = {c: col for c, col in columns.items() if c in dec.columns}
    return dec.select(
        ids.alias(key),
        *[pl.col(c).alias(col) for c, col in present.items()],
    )


def apply_plan(store: CrmStore, plan: Plan, *, run_id: str,
               checkpoint: Callable[[str], None] = lambda _: None,
               first: bool = True) -> LoadResult:
    """Write the plan. The caller holds the transaction (`store.transaction()`).

    `checkpoint(step)` is called between the steps (tests inject faults there). `first`:
    False for the second and later chunks of one run (its selections exist already).
    """
    log: list[pl.DataFrame] = []
    ranges: list[IdRange] = []
    insert_list_items(store, plan.list_items_new, log)
    checkpoint("load:companies")
    cids, company_of_group = _apply_companies(store, plan, log)
    checkpoint("load:persons")
    pids, person_of_group = _apply_persons(store, plan, company_of_group, log)
    checkpoint("load:values")
    _apply_values(store, plan, pl.concat([
        company_of_group.select(pl.lit("company").alias("owner_kind"), "group",
                                pl.col("company_id").alias("owner_id")),
        person_of_group.select(pl.lit("person").alias("owner_kind"), "group",
                               pl.col("person_id").alias("owner_id")),
    ]), log, ranges)
    checkpoint("load:log")
    # bookkeeping: change log and selections
    written = write_change_log(store, log, run_id, ranges)
    updated = {
        "company": plan.company.decisions.filter(pl.col("outcome") == "updated")["crm_id"],
        "person": plan.person.decisions.filter(pl.col("outcome") == "updated")["crm_id"],
    }
    new = {"company": cids, "person": pids}
    _selections(store, run_id, new, updated, create=first)
    store.unregister_all()
    return LoadResult(new, updated, written, {
        e: ep.decisions.filter(pl.col("outcome") == "new").select("group", ids.alias("crm_id"))
        for (e, ep), ids in zip(plan.entities.items(), (cids, pids), strict=True)})


def _apply_companies(store: CrmStore, plan: Plan, log: list[pl.DataFrame]
                     ) -> tuple[pl.Series, pl.DataFrame]:
    """New companies inserted, matched ones updated; (new ids, group → company_id)."""
    cnew = plan.company.decisions.filter(pl.col("outcome") == "new")
    cids = store.next_ids("company", cnew.height)
    _insert(store, "company", _new_records(cnew, COMPANY_COLUMNS, cids, "company_id"), log)
    company_of_group = pl.concat([
        cnew.select("group", cids.alias("company_id")),
        plan.company.decisions.filter(pl.col("crm_id").is_not_null())
        .select("group", pl.col("crm_id").alias("company_id")),
    ])
    _update(store, "company", "company_id", plan.company.changes, log)
    return cids, company_of_group


def _apply_persons(store: CrmStore, plan: Plan, company_of_group: pl.DataFrame,
                   log: list[pl.DataFrame]) -> tuple[pl.Series, pl.DataFrame]:
    """New persons inserted (linked to their company group's id, new or matched), matched
    ones updated; (new ids, group → person_id)."""
    pdec = plan.person.decisions.join(
        company_of_group.rename({"group": "_cgroup"}), on="_cgroup", how="left")
    pnew = pdec.filter(pl.col("outcome") == "new")
    pids = store.next_ids("person", pnew.height)
    person_rows = _new_records(pnew, PERSON_COLUMNS, pids, "person_id").with_columns(
        pnew["company_id"].alias("company_id"))
    if "birth_date" in person_rows.columns:
        person_rows = person_rows.with_columns(pl.col("birth_date").str.to_date(strict=False))
    _insert(store, "person", person_rows, log)
    person_of_group = pl.concat([
        pnew.select("group", pids.alias("person_id")),
        pdec.filter(pl.col("crm_id").is_not_null()).select("group", pl.col("crm_id").alias("person_id")),
    ])
    pchanges = plan.person.changes.join(
        company_of_group.rename({"group": "target_group", "company_id": "_target"}),
        on="target_group", how="left",
    ).with_columns(pl.coalesce(pl.col("new_value"), pl.col("_target").cast(pl.String))
                   .alias("new_value")).drop("_target")
    _update(store, "person", "person_id", pchanges, log)
    return pids, person_of_group


def _apply_values(store: CrmStore, plan: Plan, owner_ids: pl.DataFrame,
                  log: list[pl.DataFrame], ranges: list[IdRange]) -> None:
    """Multi-valued fields: removals first, then additions with their owners' ids."""
    deletes = plan.value_deletes
    for table, (id_col, mapping) in VALUE_TABLES.items():
        gone = deletes.filter(pl.col("table") == table).rename({"crm_id": "owner_id"})
        if gone.height == 0:
            continue
        # the whole row, under its CRM column names, so that undo can put it back
        old = gone.select(pl.col("value_id").alias(id_col), *[pl.col(p).alias(c) for c, p in mapping.items()])
        store.register("stage_delete", old.select(pl.col(id_col).alias("id")))
        store.execute(q.delete_ids(table, id_col, "stage_delete"))
        log.append(old.select(pl.lit(table).alias("entity"), pl.col(id_col).alias("entity_id"),
                              pl.lit("delete").alias("op"), pl.lit("").alias("field"),
                              _json(old, old.columns).alias("old_value"),
                              pl.lit(None, pl.String).alias("new_value")))
    inserts = plan.value_inserts.join(owner_ids, on=["owner_kind", "group"], how="inner")
    for table, (id_col, mapping) in VALUE_TABLES.items():
        add = inserts.filter(pl.col("table") == table)
        if add.height == 0:
            continue
        ids = store.next_ids(table, add.height)
        staged = add.select(ids.alias(id_col), *[pl.col(p).alias(c) for c, p in mapping.items()])
        store.append(table, staged)
        # (logged as the range of ids it took: `change_log` shows a row each)
        ranges.append(IdRange(table, int(ids[0]), int(ids[-1])))


def insert_list_items(store: CrmStore, items: pl.DataFrame, log: list[pl.DataFrame]) -> None:
    """List values the import adds (SPEC §3 lists: add)."""
    if items.height:
        ids = store.next_ids("list_item", items.height)
        staged = items.select(ids.alias("list_item_id"), "list_name", "value",
                              pl.lit(False).alias("is_default"))
        _insert(store, "list_item", staged, log)


def write_change_log(store: CrmStore, log: list[pl.DataFrame], run_id: str,
                     ranges: Sequence[IdRange] = ()) -> int:
    """All of a run's changes in one insert, and its ranges of inserted values, their
    change ids after the entries' (`change_log` shows both); returns how many."""
    changes = (pl.concat(log, how="vertical_relaxed") if log else pl.DataFrame(schema=LOG_SCHEMA))
    changes = changes.select(list(LOG_SCHEMA)).cast(LOG_SCHEMA)
    total = changes.height + sum(r.size for r in ranges)
    if total == 0:
        return 0
    ids = store.next_ids("change_log", total)
    if changes.height:
        staged = changes.select(ids[:changes.height].alias("change_id"),
                                pl.lit(run_id).alias("run_id"), pl.all())
        store.append("change_log_entry", staged)
    if ranges:
        sizes = pl.Series([r.size for r in ranges], dtype=pl.Int64)
        store.append("change_log_range", pl.DataFrame({
            "run_id": [run_id] * len(ranges),
            "change_id": int(ids[changes.height]) + sizes.cum_sum() - sizes,
            "entity": [r.entity for r in ranges],
            "first_id": [r.first_id for r in ranges], "last_id": [r.last_id for r in ranges],
        }, schema={"run_id": pl.String, "change_id": pl.Int64, "entity": pl.String,
                   "first_id": pl.Int64, "last_id": pl.Int64}))
    return total


def _insert(store: CrmStore, table: str, rows: pl.DataFrame, log: list[pl.DataFrame]) -> None:
    if rows.height == 0:
        return
    store.append(table, rows)
    key = f"{table}_id"
    log.append(rows.select(
        pl.lit(table).alias("entity"), pl.col(key).alias("entity_id"), pl.lit("insert").alias("op"),
        pl.lit("").alias("field"), pl.lit(None, pl.String).alias("old_value"),
        _json(rows, [c for c in rows.columns if c != key]).alias("new_value")))


def _update(store: CrmStore, table: str, key: str, changes: pl.DataFrame, log: list[pl.DataFrame]) -> None:
    if changes.height == 0:
        return
    staged = changes.select(pl.col("crm_id").alias("entity_id"), "field", "old_value", "new_value")
    update_fields(store, table, key, staged)
    log.append(staged.select(pl.lit(table).alias("entity"), "entity_id", pl.lit("update").alias("op"),
                             "field", "old_value", "new_value"))


def update_fields(store: CrmStore, table: str, key: str, staged: pl.DataFrame) -> None:
    """Set fields from a long frame (entity_id, field, new_value): one UPDATE per field."""
    types = COLUMN_TYPES.get(table, {})
    for field in staged["field"].unique().sort().to_list():
        rows = staged.filter(pl.col("field") == field).select("entity_id", "new_value")
        sql_type = types.get(field, "VARCHAR")
        store.run_with(rows, lambda name: q.update_field(table, key, field, sql_type, name))  # noqa: B023


def _selections(store: CrmStore, run_id: str, new: dict[str, pl.Series], updated: dict[str, pl.Series],
                *, create: bool = True) -> None:
    for kind, members in (("new", new), ("updated", updated)):
        sel = f"{run_id}-{kind}"
        if create:
            store.execute("INSERT INTO selection (selection_id, run_id, kind, name) VALUES (?, ?, ?, ?)",
                          [sel, run_id, kind, f"{kind} records of run {run_id}"])
        frame = pl.concat([
            pl.DataFrame({"entity_id": ids.cast(pl.Int64)}).with_columns(pl.lit(entity).alias("entity"))
            for entity, ids in members.items()
        ], how="vertical_relaxed").select(pl.lit(sel).alias("selection_id"), "entity", "entity_id")
        if frame.height:
            store.append("selection_member", frame)
