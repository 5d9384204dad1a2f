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

import contextlib
from collections.abc import Iterator
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
from transforms.store.schema import VALUE_STORAGE
from transforms.wording import count

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
    status: str  # undone | partly-undone | preview | noop
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
    return store.query(q.empty_rows(table)).schema


def _current(store: CrmStore, table: str, ids: pl.Series) -> pl.DataFrame:
    key = ID_COLUMN[table]
    store.register("undo_ids", pl.DataFrame({"id": ids.unique().cast(pl.Int64)}))
    try:
        return store.query(q.rows_by_id(table, key, "undo_ids"))
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


def _forget_sync_state(store: CrmStore, run_id: str) -> None:
    """An undone run of a live source (file `google:NAME`): the account's sync state would
    say its contacts are in the CRM; forgotten, the next run pulls the account whole."""
    from transforms.sources.registry import LIVE_SOURCES

    live = [src.name for src in LIVE_SOURCES]
    account = store.scalar(
        "SELECT file FROM import_run WHERE run_id = ? AND source IN ("
        + ", ".join("?" * len(live)) + ") AND substr(file, 1, length(source) + 1) = "
        "source || ':'", [run_id, *live])
    if account:
        store.execute("DELETE FROM live_sync WHERE account = ? OR substr(account, 1, ?) = ?",
                      [account, len(account) + 1, account + "/"])


def undo_run(store: CrmStore, run_id: str, *, force: bool = False, dry_run: bool = False) -> UndoResult:
    """Undo a run from its change log: delete what it created, restore what it changed;
    what changed since is a conflict (kept, unless `force`). One transaction."""
    done = _not_undoable(store, run_id)
    if done is not None:
        return done
    log = store.query("SELECT change_id, entity, entity_id, op, field, old_value, new_value "
                      "FROM change_log WHERE run_id = ? ORDER BY change_id", [run_id])
    result = UndoResult(run_id, "preview" if dry_run else "undone")
    conflicts = _Conflicts()
    if log.height:  # later runs that touched the same records (reported; their undo is theirs)
        store.register("undo_touched", log.select("entity", "entity_id").unique())
        later = store.query(_later_runs(store), [log["change_id"].max()])
        store.unregister_all()
        result.later_runs = later["run_id"].to_list()
    fields = _field_restores(store, log, conflicts, force=force)
    records = _record_deletes(store, log, conflicts, force=force)
    values = {t: _current(store, t, ids)[ID_COLUMN[t]].cast(pl.Int64)  # (those still there)
              for t, ids in _value_deletes(log, records).items()}
    restores = {table: _decode(gone["old_value"], _schema(store, table))
                for table in (*RECORD_TABLES, *VALUE_TABLES)
                if (gone := log.filter((pl.col("entity") == table)
                                       & (pl.col("op") == "delete"))).height}
    result.conflicts = conflicts.frame(result.conflicts)
    # records and fields it could not take back; (a list value kept because in use is not)
    unfinished = result.conflicts.height > 0 and not force
    result.deleted = {t: int(s.len()) for t, s in {**records, **values}.items() if s.len()}
    result.restored_fields = sum(f.height for f in fields.values())
    result.restored_records = sum(f.height for f in restores.values())
    # a preview runs the very same statements, in a transaction it then rolls back: it
    # reports exactly what the undo does, conflicts found on the way included
    with _rolled_back_if(store, dry_run):
        _restore_fields(store, fields)
        _delete(store, records, values)
        # (after the deletes: a row whose id is still taken was put back by an earlier,
        # partial undo)
        restores = {t: _not_there(store, t, rows) for t, rows in restores.items()}
        result.restored_records = sum(f.height for f in restores.values())
        for table, rows in restores.items():
            if table in VALUE_TABLES and rows.height:  # (after the records they need)
                rows = _restorable_values(store, table, rows, conflicts)
                result.restored_records -= restores[table].height - rows.height
            if rows.height == 0:
                continue
            store.register("undo_restore", rows)
            store.execute(q.insert_select(table, rows.columns, "undo_restore"))
        result.conflicts = conflicts.frame(result.conflicts)
        _restore_members(store, log)
        _drop_members(store, log)
        _leave_selections(store, run_id, result.conflicts)
        _drop_list_items(store, log, conflicts, result)
        _drop_price_lists(store, log, result)
        _forget_sync_state(store, run_id)
        # (a merge run's "keep both" decisions go with it)
        store.execute("DELETE FROM duplicate_decision WHERE run_id = ?", [run_id])
        if unfinished and not dry_run:
            # what conflicts stays to do: a later undo (settled, or --force) finishes it
            result.status = PARTLY
            store.execute("UPDATE import_run SET status = ? WHERE run_id = ?",
                          [PARTLY, run_id])
        elif not dry_run:
            store.execute("UPDATE import_run SET status = 'undone', undone_at = ? "
                          "WHERE run_id = ?", [datetime.now(UTC), run_id])
        store.unregister_all()
    result.message = _message(result, dry_run=dry_run)
    return result


PARTLY = "partly-undone"  # conflicts kept it from finishing; undo may be run again


class _Preview(Exception):
    """Raised at the end of a preview's transaction: everything it did is rolled back."""


@contextlib.contextmanager
def _rolled_back_if(store: CrmStore, preview: bool) -> Iterator[None]:
    try:
        with store.transaction():
            yield
            if preview:
                raise _Preview
    except _Preview:
        store.unregister_all()


def _restorable_values(store: CrmStore, table: str, rows: pl.DataFrame,
                       conflicts: _Conflicts) -> pl.DataFrame:
    """Removed values to put back: never onto an owner that is gone (deleted since), never
    a second copy of a value its owner has again. Both are conflicts, left as they are."""
    vt = VALUE_STORAGE[table]
    key, value = vt.id_column, vt.value
    store.register("undo_values", rows.select(key, "owner_kind", "owner_id", value))
    try:
        found = store.query(
            f"SELECT u.{q.ident(key)} AS id, u.{q.ident(value)} AS value, "
            "(EXISTS (SELECT 1 FROM company c WHERE u.owner_kind = 'company' "
            "AND c.company_id = u.owner_id) OR EXISTS (SELECT 1 FROM person p "
            "WHERE u.owner_kind = 'person' AND p.person_id = u.owner_id)) AS owned, "
            f"EXISTS (SELECT 1 FROM {q.ident(table)} t WHERE t.owner_kind = u.owner_kind "
            f"AND t.owner_id = u.owner_id AND t.{q.ident(value)} = u.{q.ident(value)}) AS again "
            "FROM undo_values u")
    finally:
        store.unregister_all()
    orphans = found.filter(~pl.col("owned"))
    again = found.filter(pl.col("owned") & pl.col("again"))
    for frame, reason in ((orphans, "its owner is gone: not put back"),
                          (again, "its owner has the same value again: not put back twice")):
        conflicts.add(frame.select(pl.col("id").alias("entity_id"), pl.lit(value).alias("field"),
                                   pl.col("value").alias("run_value")), table, reason)
    keep = found.filter(pl.col("owned") & ~pl.col("again"))["id"]
    return rows.filter(pl.col(key).is_in(keep.cast(rows[key].dtype).to_list()))


def _not_there(store: CrmStore, table: str, rows: pl.DataFrame) -> pl.DataFrame:
    """Rows to put back that are not back already (an earlier, partial undo did)."""
    key = ID_COLUMN[table]
    there = _current(store, table, rows[key])[key]
    return rows.filter(~pl.col(key).is_in(there.cast(rows[key].dtype).to_list()))


def _not_undoable(store: CrmStore, run_id: str) -> UndoResult | None:
    """A run already undone, or that changed nothing: a no-op result (None: undo it)."""
    run = store.query("SELECT status, undone_at, purged_at FROM import_run WHERE run_id = ?", [run_id])
    if run.height == 0:
        raise RunNotFound(run_id)
    status, undone_at, purged_at = run.row(0)
    if undone_at is not None:
        return UndoResult(run_id, "noop", f"run {run_id} was already undone at {undone_at:%Y-%m-%d %H:%M:%S}")
    if status not in ("completed", PARTLY):
        return UndoResult(run_id, "noop", f"run {run_id} is {status}: it changed nothing, so "
                          "there is nothing to undo")
    if purged_at is not None:
        raise RunPurged(run_id, purged_at)
    return None


class _Conflicts:
    """What undo leaves alone, and why (CONFLICT_SCHEMA)."""

    def __init__(self) -> None:
        self.parts: list[pl.DataFrame] = []

    def add(self, frame: pl.DataFrame, entity: str, reason: str) -> None:
        if frame.height:
            self.parts.append(frame.select(
                pl.lit(entity).alias("entity"), pl.col("entity_id").cast(pl.Int64),
                *[pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, pl.String).alias(c)
                  for c in ("field", "run_value", "current_value")],
                pl.lit(reason).alias("reason")))

    def frame(self, default: pl.DataFrame) -> pl.DataFrame:
        if not self.parts:
            return default
        return pl.concat(self.parts, how="vertical_relaxed").unique(maintain_order=True)


def _field_restores(store: CrmStore, log: pl.DataFrame, conflicts: _Conflicts, *,
                    force: bool) -> dict[str, pl.DataFrame]:
    """Field updates to restore, per table: unless the field moved on since (a conflict)."""
    restore: dict[str, pl.DataFrame] = {}
    for table in RECORD_TABLES:
        upd = log.filter((pl.col("entity") == table) & (pl.col("op") == "update"))
        if upd.height == 0:
            continue
        cur = _as_text(_current(store, table, upd["entity_id"]))
        key = ID_COLUMN[table]
        now = (cur.unpivot(index=key, variable_name="field", value_name="current_value")
               .with_columns(pl.col(key).cast(pl.Int64).alias("entity_id")).drop(key))
        # (compared as the log wrote them: as text)
        checked = upd.join(now, on=["entity_id", "field"], how="left")
        # back at the old value: restored already (an earlier, partial undo), nothing to do
        checked = checked.filter(pl.col("current_value").ne_missing(pl.col("old_value"))
                                 | pl.col("current_value").eq_missing(pl.col("new_value")))
        moved = checked.filter(pl.col("current_value").ne_missing(pl.col("new_value")))
        conflicts.add(moved.rename({"new_value": "run_value"}), table, "changed after the run")
        restore[table] = checked if force else checked.join(moved.select("change_id"),
                                                            on="change_id", how="anti")
    return restore


def _record_deletes(store: CrmStore, log: pl.DataFrame, conflicts: _Conflicts, *,
                    force: bool) -> dict[str, pl.Series]:
    """Records the run created, to delete: unless edited, extended or pointed to since."""
    delete_ids: dict[str, pl.Series] = {}
    created_values = log.filter(pl.col("entity").is_in(VALUE_TABLES) & (pl.col("op") == "insert"))
    for table in ("product", "person", "company"):
        made = log.filter((pl.col("entity") == table) & (pl.col("op") == "insert"))
        if made.height == 0:
            continue
        cur = _current(store, table, made["entity_id"])
        edited = _edited(made, cur, table, _schema(store, table))
        conflicts.add(edited, table, "edited after the run")
        blocked = set(edited["entity_id"].to_list()) if not force else set()
        if table != "product":  # (products own nothing)
            blocked |= _held(store, table, made, created_values, delete_ids, conflicts)
        there = cur[ID_COLUMN[table]].cast(pl.Int64)  # (gone already: an earlier, partial undo)
        delete_ids[table] = made.filter(~pl.col("entity_id").is_in(list(blocked))
                                        & pl.col("entity_id").is_in(there.to_list()))["entity_id"]
    return delete_ids


def _held(store: CrmStore, table: str, made: pl.DataFrame, created_values: pl.DataFrame,
          delete_ids: dict[str, pl.Series], conflicts: _Conflicts) -> set[int]:
    """Created companies/persons that others hang on to: values added after the run, and
    (companies) persons this undo does not delete."""
    extra = _foreign_values(store, table, made["entity_id"], created_values)
    conflicts.add(extra.rename({"owner_id": "entity_id"}).with_columns(
        pl.col("table").alias("field")), table, "has values added after the run")
    held = set(extra["owner_id"].to_list())
    if table == "company":  # persons of other runs (or by hand, or kept) still in it
        mine = set(delete_ids.get("person", pl.Series([], dtype=pl.Int64)).to_list())
        store.register("undo_ids", pl.DataFrame({"id": made["entity_id"]}))
        refs = store.query("SELECT person_id, company_id AS entity_id FROM person p "
                           "JOIN undo_ids u ON p.company_id = u.id")
        store.unregister_all()
        foreign = refs.filter(~pl.col("person_id").is_in(list(mine)))
        conflicts.add(foreign.select("entity_id").unique().with_columns(
            pl.lit("person").alias("field")), "company", "persons not created by this run belong to it")
        held |= set(foreign["entity_id"].to_list())
    return held


def _value_deletes(log: pl.DataFrame, records: dict[str, pl.Series]) -> dict[str, pl.Series]:
    """Values this run created, per table; a record kept as a conflict keeps the values the
    run gave it too."""
    created_values = log.filter(pl.col("entity").is_in(VALUE_TABLES) & (pl.col("op") == "insert"))
    kept = pl.concat([
        log.filter((pl.col("entity") == t) & (pl.col("op") == "insert"))
        .filter(~pl.col("entity_id").is_in(records.get(t, pl.Series([], dtype=pl.Int64)).to_list()))
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
    return value_deletes


def _restore_fields(store: CrmStore, fields: dict[str, pl.DataFrame]) -> None:
    for table, rows in fields.items():
        if rows.height:
            update_fields(store, table, ID_COLUMN[table],
                          rows.select("entity_id", "field", pl.col("old_value").alias("new_value")))


def _delete(store: CrmStore, records: dict[str, pl.Series], values: dict[str, pl.Series]) -> None:
    for table, ids in values.items():
        store.register("undo_ids", pl.DataFrame({"id": ids}))
        store.execute(q.delete_ids(table, ID_COLUMN[table], "undo_ids"))
    for table in ("product", "person", "company"):  # persons first: they point at companies
        ids_gone = records.get(table)
        if ids_gone is None or ids_gone.len() == 0:
            continue
        store.register("undo_ids", pl.DataFrame({"id": ids_gone}))
        for vt in VALUE_TABLES if table in OWNER_KIND else ():  # values they still own
            store.execute(q.delete_owned(vt, "undo_ids"), [OWNER_KIND[table]])
        store.execute(q.delete_members("undo_ids"), [table])
        store.execute(q.delete_ids(table, ID_COLUMN[table], "undo_ids"))


_MEMBER = pl.Schema({"selection_id": pl.String, "entity": pl.String, "entity_id": pl.Int64})


def _restore_members(store: CrmStore, log: pl.DataFrame) -> None:
    """A deleted record's places in selections (a `selection delete`), back with it: into
    the selections that are still there, for records that are back."""
    gone = log.filter((pl.col("entity") == "selection_member") & (pl.col("op") == "delete"))
    if gone.height == 0:
        return
    store.register("undo_members", _decode(gone["old_value"], _MEMBER).unique())
    store.execute(_RESTORE_MEMBERS)
    store.unregister_all()


def _drop_members(store: CrmStore, log: pl.DataFrame) -> None:
    """Places in selections a run gave a record (a merge's survivor): taken back."""
    added = log.filter((pl.col("entity") == "selection_member") & (pl.col("op") == "insert"))
    if added.height == 0:
        return
    store.register("undo_members", _decode(added["new_value"], _MEMBER).unique())
    store.execute("DELETE FROM selection_member WHERE EXISTS (SELECT 1 FROM undo_members u "
                  "WHERE u.selection_id = selection_member.selection_id AND u.entity = "
                  "selection_member.entity AND u.entity_id = selection_member.entity_id)")
    store.unregister_all()


_RESTORE_MEMBERS = """
INSERT INTO selection_member (selection_id, entity, entity_id)
SELECT u.selection_id, u.entity, u.entity_id FROM undo_members u
WHERE EXISTS (SELECT 1 FROM selection s WHERE s.selection_id = u.selection_id)
  AND NOT EXISTS (SELECT 1 FROM selection_member m WHERE m.selection_id = u.selection_id
                  AND m.entity = u.entity AND m.entity_id = u.entity_id)
  AND (   (u.entity = 'company' AND EXISTS (SELECT 1 FROM company c WHERE c.company_id = u.entity_id))
       OR (u.entity = 'person' AND EXISTS (SELECT 1 FROM person p WHERE p.person_id = u.entity_id))
       OR (u.entity = 'product' AND EXISTS (SELECT 1 FROM product r WHERE r.product_id = u.entity_id)))
"""


def _leave_selections(store: CrmStore, run_id: str, conflicts: pl.DataFrame) -> None:
    """An undone run's selections no longer offer its records (a `selection delete` of its
    `-updated` records would delete records that were there before it) — except those a
    conflict kept, which still hold what the run wrote."""
    kept = conflicts.select("entity", "entity_id").unique() if conflicts.height else \
        pl.DataFrame(schema={"entity": pl.String, "entity_id": pl.Int64})
    store.register("undo_kept", kept)
    store.execute("DELETE FROM selection_member WHERE selection_id IN "
                  "(SELECT selection_id FROM selection WHERE run_id = ?) AND NOT EXISTS "
                  "(SELECT 1 FROM undo_kept k WHERE k.entity = selection_member.entity "
                  "AND k.entity_id = selection_member.entity_id)", [run_id])
    store.unregister_all()


def _drop_list_items(store: CrmStore, log: pl.DataFrame, conflicts: _Conflicts,
                     result: UndoResult) -> None:
    """List values this run added, unless in use by what stays."""
    item_ids = log.filter((pl.col("entity") == "list_item") & (pl.col("op") == "insert"))["entity_id"]
    if not item_ids.len():
        return
    store.register("undo_ids", pl.DataFrame({"id": item_ids}))
    in_use = store.query(_LIST_ITEMS_IN_USE)
    store.unregister_all()
    kept_items = in_use["list_item_id"]
    if kept_items.len():
        conflicts.add(in_use.select(pl.col("list_item_id").alias("entity_id"),
                                    pl.col("value").alias("current_value")),
                      "list_item", "still used by records that stay")
        result.conflicts = conflicts.frame(result.conflicts)
    gone = item_ids.filter(~item_ids.is_in(kept_items.to_list()))
    gone = _current(store, "list_item", gone)["list_item_id"]  # (not gone already)
    store.register("undo_ids", pl.DataFrame({"id": gone}))
    store.execute(q.delete_ids("list_item", "list_item_id", "undo_ids"))
    if gone.len():
        result.deleted["list_item"] = int(gone.len())


def _drop_price_lists(store: CrmStore, log: pl.DataFrame, result: UndoResult) -> None:
    """A price list the run created goes, unless products remain in it."""
    lists = log.filter((pl.col("entity") == "price_list") & (pl.col("op") == "insert"))["entity_id"]
    if lists.len():
        store.register("undo_ids", pl.DataFrame({"id": lists}))
        store.execute("DELETE FROM price_list WHERE price_list_id IN (SELECT id FROM undo_ids) "
                      "AND NOT EXISTS (SELECT 1 FROM product p WHERE p.price_list_id = price_list.price_list_id)")
        result.deleted["price_list"] = int(lists.len())


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
    parts = [f"{verb} " + (", ".join(count(n, t.replace("_", " ")) for t, n in r.deleted.items())
                          or "nothing"),
             f"{'would restore' if dry_run else 'restored'} {count(r.restored_fields, 'field')} "
             f"and {count(r.restored_records, 'removed record')}"]
    if r.conflicts.height:
        parts.append(f"{count(r.conflicts.height, 'conflict')} left as "
                     f"{'it is' if r.conflicts.height == 1 else 'they are'} (see conflicts; "
                     "--force restores changed values)")
    if r.status == PARTLY:
        parts.append("the run is partly undone: undo it again to finish, once the conflicts "
                     "are settled, or with --force")
    if r.later_runs:
        parts.append("later runs touched the same records: " + ", ".join(r.later_runs))
    return "; ".join(parts)
