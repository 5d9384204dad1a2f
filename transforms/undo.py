"""Undo a run from its change log: delete what it created, restore what it changed.

Every entry of `change_log` is one of:
- insert (field ""): a record the run created; `new_value` is the record as JSON;
- update: one field of a record; `old_value` / `new_value` as text;
- delete (field ""): a record the run removed; `old_value` is the whole record as JSON.

Before touching anything the current CRM is compared with what the run left: a field that
no longer holds the run's value, a created record that was edited or gained phones, persons
or list users since, is a **conflict** and is left as it is (unless `force`, which restores
changed values and deletes edited records, but never deletes a record others point to).
Everything else is undone in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from contracts.errors import CrmImportError, RunNotFound
from contracts.fields import VALUE_TABLES
from transforms.apply import update_fields
from transforms.store import ID_COLUMN
from transforms.store import sql as q
from transforms.store.base import CrmStore

RECORD_TABLES = ("company", "person", "product")
CONFLICT_SCHEMA = pl.Schema({"entity": pl.String, "entity_id": pl.Int64, "field": pl.String,
                   "run_value": pl.String, "current_value": pl.String, "reason": pl.String})
OWNER_KIND = {"company": "company", "person": "person"}


class RunPurged(CrmImportError):
    def __init__(self, run_id: str, when: Any):
        self.hint = "its change log values were purged; restore from a backup instead"
        super().__init__(f"run {run_id} can no longer be undone: purged on {when}")


@dataclass
class UndoResult:
    run_id: str
    status: str  # undone | preview | noop
    message: str = ""
    deleted: dict[str, int] = field(default_factory=dict)
    restored_fields: int = 0
    restored_records: int = 0
    conflicts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CONFLICT_SCHEMA))
    later_runs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The `--json` object; conflicts as a list of records."""
        return {"run_id": self.run_id, "status": self.status, "message": self.message,
                "deleted": self.deleted, "restored": {"fields": self.restored_fields,
                                                      "records": self.restored_records},
                "conflicts": self.conflicts.rows(named=True),
                "later_runs": self.later_runs, "errors": []}


def _schema(store: CrmStore, table: str) -> pl.Schema:
    return store.query(f"SELECT * FROM {q.ident(table)} LIMIT 0").schema


def _current(store: CrmStore, table: str, ids: pl.Series) -> pl.DataFrame:
    key = ID_COLUMN[table]
    store.register("undo_ids", pl.DataFrame({"id": ids.unique().cast(pl.Int64)}))
    try:
        return store.query(f"SELECT t.* FROM {q.ident(table)} t JOIN undo_ids u ON t.{q.ident(key)} = u.id")
    finally:
        store.unregister_all()


def _decode(json_col: pl.Series, schema: pl.Schema) -> pl.DataFrame:
    return json_col.to_frame("j").select(pl.col("j").str.json_decode(pl.Struct(schema))).unnest("j")


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select([pl.col(c).cast(pl.String) for c in frame.columns])


def _edited(created: pl.DataFrame, current: pl.DataFrame, table: str, schema: pl.Schema) -> pl.DataFrame:
    """Created records whose current row differs from the row the run inserted."""
    key = ID_COLUMN[table]
    fields = {c: t for c, t in schema.items() if c != key}
    inserted = _decode(created["new_value"], pl.Schema(fields)).with_columns(
        created["entity_id"].alias(key))
    a = _as_text(inserted.select(key, *fields))
    b = _as_text(current.select(key, *fields))
    both = a.join(b, on=key, suffix="__now", how="inner")
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}__now")) for c in fields])
    changed = both.filter(differs)
    if changed.height == 0:
        return pl.DataFrame(schema={"entity_id": pl.Int64, "field": pl.String,
                                    "run_value": pl.String, "current_value": pl.String})
    long = pl.concat([
        changed.filter(pl.col(c).ne_missing(pl.col(f"{c}__now")))
        .select(pl.col(key).cast(pl.Int64).alias("entity_id"), pl.lit(c).alias("field"),
                pl.col(c).alias("run_value"), pl.col(f"{c}__now").alias("current_value"))
        for c in fields])
    return long


def undo_run(store: CrmStore, run_id: str, *, force: bool = False, dry_run: bool = False) -> UndoResult:
    run = store.query("SELECT status, undone_at, purged_at FROM import_run WHERE run_id = ?", [run_id])
    if run.height == 0:
        raise RunNotFound(run_id)
    status, undone_at, purged_at = run.row(0)
    if undone_at is not None:
        return UndoResult(run_id, "noop", f"run {run_id} was already undone at {undone_at:%Y-%m-%d %H:%M:%S}")
    if status != "completed":
        return UndoResult(run_id, "noop", f"run {run_id} is {status}: it changed nothing, so "
                          "there is nothing to undo")
    if purged_at is not None:
        raise RunPurged(run_id, purged_at)

    log = store.query("SELECT change_id, entity, entity_id, op, field, old_value, new_value "
                      "FROM change_log WHERE run_id = ? ORDER BY change_id", [run_id])
    result = UndoResult(run_id, "preview" if dry_run else "undone")
    conflicts: list[pl.DataFrame] = []

    def conflict(frame: pl.DataFrame, entity: str, reason: str) -> None:
        if frame.height:
            conflicts.append(frame.select(
                pl.lit(entity).alias("entity"), pl.col("entity_id").cast(pl.Int64),
                *[pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, pl.String).alias(c)
                  for c in ("field", "run_value", "current_value")],
                pl.lit(reason).alias("reason")))

    # later runs that touched the same records (reported; their own undo is theirs)
    if log.height:
        store.register("undo_touched", log.select("entity", "entity_id").unique())
        later = store.query(_later_runs(store), [log["change_id"].max()])
        store.unregister_all()
        result.later_runs = later["run_id"].to_list()

    # --- field updates: restore unless the field moved on since -------------------------------
    restore_fields: dict[str, pl.DataFrame] = {}
    for table in RECORD_TABLES:
        upd = log.filter((pl.col("entity") == table) & (pl.col("op") == "update"))
        if upd.height == 0:
            continue
        cur = _as_text(_current(store, table, upd["entity_id"]))
        key = ID_COLUMN[table]
        now = (cur.unpivot(index=key, variable_name="field", value_name="current_value")
               .with_columns(pl.col(key).cast(pl.Int64).alias("entity_id")).drop(key))
        checked = upd.join(now, on=["entity_id", "field"], how="left").with_columns(
            # DuckDB renders dates/ints its own way; compare as the log wrote them
            pl.col("current_value"))
        moved = checked.filter(pl.col("current_value").ne_missing(pl.col("new_value")))
        conflict(moved.rename({"new_value": "run_value"}), table, "changed after the run")
        restore_fields[table] = checked if force else checked.join(moved.select("change_id"),
                                                                   on="change_id", how="anti")

    # --- created records: delete unless edited, extended or pointed to since ------------------
    delete_ids: dict[str, pl.Series] = {}
    created_values = log.filter(pl.col("entity").is_in(VALUE_TABLES) & (pl.col("op") == "insert"))
    for table in ("product", "person", "company"):
        made = log.filter((pl.col("entity") == table) & (pl.col("op") == "insert"))
        if made.height == 0:
            continue
        schema = _schema(store, table)
        cur = _current(store, table, made["entity_id"])
        edited = _edited(made, cur, table, schema)
        conflict(edited, table, "edited after the run")
        blocked = set(edited["entity_id"].to_list()) if not force else set()
        if table == "product":  # products own nothing
            delete_ids[table] = made.filter(~pl.col("entity_id").is_in(list(blocked)))["entity_id"]
            continue
        # phones/emails/… added to it by others (not by this run)
        extra = _foreign_values(store, table, made["entity_id"], created_values)
        conflict(extra.rename({"owner_id": "entity_id"}).with_columns(
            pl.col("table").alias("field")), table, "has values added after the run")
        blocked |= set(extra["owner_id"].to_list())
        if table == "company":  # persons of other runs (or by hand, or kept) still in it
            mine = set(delete_ids.get("person", pl.Series([], dtype=pl.Int64)).to_list())
            store.register("undo_ids", pl.DataFrame({"id": made["entity_id"]}))
            refs = store.query("SELECT person_id, company_id AS entity_id FROM person p "
                               "JOIN undo_ids u ON p.company_id = u.id")
            store.unregister_all()
            foreign = refs.filter(~pl.col("person_id").is_in(list(mine)))
            conflict(foreign.select("entity_id").unique().with_columns(
                pl.lit("person").alias("field")), "company", "persons not created by this run belong to it")
            blocked |= set(foreign["entity_id"].to_list())
        ids = made.filter(~pl.col("entity_id").is_in(list(blocked)))["entity_id"]
        delete_ids[table] = ids

    # --- values this run created, and values it removed -----------------------------------
    # (a record kept as a conflict keeps the values the run gave it too)
    kept = pl.concat([
        log.filter((pl.col("entity") == t) & (pl.col("op") == "insert"))
        .filter(~pl.col("entity_id").is_in(delete_ids.get(t, pl.Series([], dtype=pl.Int64)).to_list()))
        .select(pl.lit(OWNER_KIND[t]).alias("owner_kind"), pl.col("entity_id").alias("owner_id"))
        for t in OWNER_KIND])
    value_deletes: dict[str, pl.Series] = {}
    for table in VALUE_TABLES:
        made = created_values.filter(pl.col("entity") == table)
        if made.height:
            owners = _decode(made["new_value"], pl.Schema({"owner_kind": pl.String,
                                                          "owner_id": pl.Int64}))
            made = pl.concat([made, owners], how="horizontal").join(
                kept, on=["owner_kind", "owner_id"], how="anti")
            value_deletes[table] = made["entity_id"]
    restores: dict[str, pl.DataFrame] = {}
    for table in (*RECORD_TABLES, *VALUE_TABLES):
        gone = log.filter((pl.col("entity") == table) & (pl.col("op") == "delete"))
        if gone.height:
            restores[table] = _decode(gone["old_value"], _schema(store, table))

    # --- list values this run added, unless in use by what stays ----------------------------
    items = log.filter((pl.col("entity") == "list_item") & (pl.col("op") == "insert"))
    item_ids = items["entity_id"]

    if conflicts:
        report = pl.concat(conflicts, how="vertical_relaxed").unique(maintain_order=True)
        result.conflicts = report
    result.deleted = {t: int(s.len()) for t, s in {**delete_ids, **value_deletes}.items() if s.len()}
    result.restored_fields = sum(f.height for f in restore_fields.values())
    result.restored_records = sum(f.height for f in restores.values())
    if dry_run:
        result.message = _message(result, dry_run=True)
        return result

    with store.transaction():
        for table, rows in restore_fields.items():
            if rows.height == 0:
                continue
            update_fields(store, table, ID_COLUMN[table],
                          rows.select("entity_id", "field", pl.col("old_value").alias("new_value")))
        for table, ids in value_deletes.items():
            store.register("undo_ids", pl.DataFrame({"id": ids}))
            store.execute(q.delete_ids(table, ID_COLUMN[table], "undo_ids"))
        for table in ("product", "person", "company"):  # persons first: they point at companies
            ids_gone = delete_ids.get(table)
            if ids_gone is None or ids_gone.len() == 0:
                continue
            store.register("undo_ids", pl.DataFrame({"id": ids_gone}))
            for vt in VALUE_TABLES if table in OWNER_KIND else ():  # values they still own
                store.execute(f"DELETE FROM {q.ident(vt)} WHERE owner_kind = ? AND owner_id IN "
                              "(SELECT id FROM undo_ids)", [OWNER_KIND[table]])
            store.execute("DELETE FROM selection_member WHERE entity = ? AND entity_id IN "
                          "(SELECT id FROM undo_ids)", [table])
            store.execute(q.delete_ids(table, ID_COLUMN[table], "undo_ids"))
        for table, rows in restores.items():
            store.register("undo_restore", rows)
            store.execute(q.insert_select(table, rows.columns, "undo_restore"))
        if item_ids.len():
            store.register("undo_ids", pl.DataFrame({"id": item_ids}))
            in_use = store.query(_LIST_ITEMS_IN_USE)
            store.unregister_all()
            kept_items = in_use["list_item_id"]
            if kept_items.len():
                conflict(in_use.select(pl.col("list_item_id").alias("entity_id"),
                                       pl.col("value").alias("current_value")),
                         "list_item", "still used by records that stay")
                result.conflicts = pl.concat(conflicts, how="vertical_relaxed")
            store.register("undo_ids", pl.DataFrame({"id": item_ids.filter(~item_ids.is_in(kept_items.to_list()))}))
            store.execute(q.delete_ids("list_item", "list_item_id", "undo_ids"))
            result.deleted["list_item"] = int(item_ids.len() - kept_items.len())
        lists = log.filter((pl.col("entity") == "price_list") & (pl.col("op") == "insert"))["entity_id"]
        if lists.len():  # a price list the run created goes, unless products remain in it
            store.register("undo_ids", pl.DataFrame({"id": lists}))
            store.execute("DELETE FROM price_list WHERE price_list_id IN (SELECT id FROM undo_ids) "
                          "AND NOT EXISTS (SELECT 1 FROM product p WHERE p.price_list_id = price_list.price_list_id)")
            result.deleted["price_list"] = int(lists.len())
        store.execute("UPDATE import_run SET status = 'undone', undone_at = ? WHERE run_id = ?",
                      [datetime.now(UTC), run_id])
        store.unregister_all()
    result.message = _message(result, dry_run=False)
    return result


def _later_runs(store: CrmStore) -> str:
    """Runs after this one that changed its records, or hung persons or values on them
    (an insert's change-log value is the record as JSON)."""
    def field(name: str) -> str:
        return store.insert_json_field("l", name)

    return f"""
SELECT DISTINCT l.run_id FROM change_log l JOIN import_run r ON r.run_id = l.run_id
WHERE l.change_id > ? AND r.undone_at IS NULL AND (
  EXISTS (SELECT 1 FROM undo_touched t WHERE t.entity = l.entity AND t.entity_id = l.entity_id)
  OR (l.entity = 'person' AND l.op = 'insert' AND EXISTS (
      SELECT 1 FROM undo_touched t WHERE t.entity = 'company'
      AND t.entity_id = CAST({field("company_id")} AS BIGINT)))
  OR (l.entity IN ('phone', 'email', 'url', 'interest') AND l.op = 'insert' AND EXISTS (
      SELECT 1 FROM undo_touched t
      WHERE t.entity = {field("owner_kind")}
      AND t.entity_id = CAST({field("owner_id")} AS BIGINT))))
ORDER BY 1
"""

_LIST_ITEMS_IN_USE = """
SELECT li.list_item_id, li.value FROM list_item li JOIN undo_ids u ON li.list_item_id = u.id
WHERE (li.list_name = 'category' AND EXISTS (SELECT 1 FROM company c WHERE lower(c.category) = lower(li.value)))
   OR (li.list_name = 'business' AND EXISTS (SELECT 1 FROM company c WHERE lower(c.business) = lower(li.value)))
   OR (li.list_name = 'position' AND EXISTS (SELECT 1 FROM person p WHERE lower(p.position) = lower(li.value)))
   OR (li.list_name = 'interest' AND EXISTS (SELECT 1 FROM interest i WHERE lower(i.value) = lower(li.value)))
   OR (li.list_name = 'product_category' AND EXISTS (SELECT 1 FROM product p WHERE lower(p.category) = lower(li.value)))
   OR (li.list_name = 'product_family' AND EXISTS (SELECT 1 FROM product p WHERE lower(p.family) = lower(li.value)))
   OR (li.list_name = 'product_type' AND EXISTS (SELECT 1 FROM product p WHERE lower(p.type) = lower(li.value)))
"""


def _foreign_values(store: CrmStore, table: str, owner_ids: pl.Series, created_values: pl.DataFrame) -> pl.DataFrame:
    """Values owned by these records that this run did not create."""
    store.register("undo_ids", pl.DataFrame({"id": owner_ids}))
    parts = []
    try:
        for vt in VALUE_TABLES:
            found = store.query(
                f"SELECT {q.ident(ID_COLUMN[vt])} AS value_id, owner_id FROM {q.ident(vt)} "
                "WHERE owner_kind = ? AND owner_id IN (SELECT id FROM undo_ids)", [OWNER_KIND[table]])
            mine = created_values.filter(pl.col("entity") == vt)["entity_id"]
            parts.append(found.filter(~pl.col("value_id").is_in(mine.to_list()))
                         .select(pl.col("owner_id").cast(pl.Int64), pl.lit(vt).alias("table")))
    finally:
        store.unregister_all()
    return pl.concat(parts).unique()


def _message(r: UndoResult, *, dry_run: bool) -> str:
    verb = "would delete" if dry_run else "deleted"
    parts = [f"{verb} " + (", ".join(f"{n} {t}" for t, n in r.deleted.items()) or "nothing"),
             f"{'would restore' if dry_run else 'restored'} {r.restored_fields} fields and "
             f"{r.restored_records} removed records"]
    if r.conflicts.height:
        parts.append(f"{r.conflicts.height} conflicts left as they are (see conflicts; --force "
                     "restores changed values)")
    if r.later_runs:
        parts.append("later runs touched the same records: " + ", ".join(r.later_runs))
    return "; ".join(parts)
