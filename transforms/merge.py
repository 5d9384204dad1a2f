"""Merging duplicate records (`crm-import duplicates apply review.xlsx`), as a recorded
run of kind `merge` whose change log `crm-import undo` plays back.

For each pair marked `merge` the survivor (the file's `keep` column, else the older: the
smaller id) keeps its filled fields and gets the other's where its own are empty; phones,
e-mails, URLs and interests are unioned without duplicates; a merged company's persons and
the other record's places in selections move to the survivor; then the other record goes.
Pairs marked `keep both` are remembered (`duplicate_decision`) and not listed again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from contracts.errors import CrmImportError
from contracts.fields import VALUE_TABLES
from transforms.apply import update_fields, write_change_log
from transforms.report import new_run_id, record_run
from transforms.store import ID_COLUMN
from transforms.store import sql as q
from transforms.store.base import CrmStore
from transforms.store.schema import VALUE_STORAGE
from transforms.summary import RunSummary

ACTIONS = ("merge", "keep both")
# what makes two values of a record one (a phone by its E.164 form, else its digits): SQL
# over the value table's alias
SAME_VALUE = {
    "phone": lambda t: f"coalesce({t}.number_e164, regexp_replace({t}.number, '[^0-9+]', '', "
                       "'g'))",
    "email": lambda t: f"lower(trim({t}.address))",
    "url": lambda t: f"rtrim(lower(trim({t}.url)), '/')",
    "interest": lambda t: f"lower(trim({t}.value))",
}


class ReviewInvalid(CrmImportError):
    def __init__(self, path: str, row: int | None, column: str, problem: str):
        self.hint = ("fill in the action column with merge or keep both (leave it empty to "
                     "decide later); keep, if given, is a or b's id")
        where = f"row {row}, column {column}" if row else f"column {column}"
        super().__init__(f"{path}: {where}: {problem}")


def read_review(path: str, frame: pl.DataFrame) -> tuple[str, pl.DataFrame]:
    """(entity, decisions: a, b, action, keep) of a review file; `frame` is its cells as
    text with `source_row` (a reader's RawTable frame)."""
    for column in ("entity", "action", "a", "b"):
        if column not in frame.columns:
            raise ReviewInvalid(path, None, column, "missing: is this a review file written "
                                "by `crm-import duplicates -o`?")
    entities = frame["entity"].drop_nulls().unique().to_list()
    if len(entities) != 1 or entities[0] not in ("person", "company"):
        raise ReviewInvalid(path, None, "entity", "one entity a file, person or company")
    action = pl.col("action").str.strip_chars().str.to_lowercase().replace("", None)
    rows = frame.select("source_row", action.alias("action"),
                        pl.col("a").cast(pl.Int64, strict=False).alias("a"),
                        pl.col("b").cast(pl.Int64, strict=False).alias("b"),
                        (pl.col("keep") if "keep" in frame.columns else pl.lit(None))
                        .cast(pl.String).str.strip_chars().replace("", None).alias("keep_text"))
    rows = rows.with_columns(pl.col("keep_text").cast(pl.Int64, strict=False).alias("keep"))
    checks = [
        (~pl.col("action").is_in(list(ACTIONS)) & pl.col("action").is_not_null(), "action",
         "not merge or keep both"),
        (pl.col("a").is_null() | pl.col("b").is_null(), "a", "not a record id"),
        (pl.col("keep_text").is_not_null() & ~((pl.col("keep") == pl.col("a"))
                                                | (pl.col("keep") == pl.col("b"))).fill_null(False),
         "keep", "neither a nor b"),
    ]
    for bad, column, problem in checks:
        found = rows.filter(bad & pl.col("action").is_not_null() if column != "action" else bad)
        if found.height:
            row = found.row(0, named=True)
            raise ReviewInvalid(path, row["source_row"], column, problem)
    return entities[0], rows.filter(pl.col("action").is_not_null()).drop("keep_text")


def _chains(pairs: pl.DataFrame) -> list[tuple[int, int]]:
    """(survivor, other) in file order, each end followed to where earlier merges took it;
    a pair already one record is left out."""
    moved: dict[int, int] = {}
    out = []
    # (a walk over the pairs a person marked, in their order: each depends on the ones before)
    for a, b, keep in pairs.select("a", "b", "keep").iter_rows():
        def final(x: int) -> int:
            while x in moved:
                x = moved[x]
            return x
        survivor = keep if keep is not None else min(a, b)
        other = b if survivor == a else a
        survivor, other = final(survivor), final(other)
        if survivor != other:
            moved[other] = survivor
            out.append((survivor, other))
    return out


def apply_review(store: CrmStore, entity: str, decisions: pl.DataFrame, *, file: str,
                 dry_run: bool = False) -> dict[str, Any]:
    """Merge the pairs marked merge, remember those marked keep both: one transaction, a
    run of kind `merge` (a preview runs the same and rolls back)."""
    from transforms.undo import _rolled_back_if

    table, key = entity, ID_COLUMN[entity]
    merges = _chains(decisions.filter(pl.col("action") == "merge"))
    kept = decisions.filter(pl.col("action") == "keep both")
    run_id = new_run_id()
    # the summary every run has (`runs`, `show`), and what a merge adds
    base = RunSummary(run_id=run_id, source="duplicates", file=file,
                      status="preview" if dry_run else "completed")
    base.rows.read = decisions.height
    base.count(entity, {"updated": len({s for s, _ in merges})})
    summary: dict[str, Any] = {**base.as_json(), "kind": "merge", "entity": entity,
                               "merged": [{"survivor": s, "merged": o} for s, o in merges],
                               "kept_both": kept.height}
    started = datetime.now(UTC)
    with _rolled_back_if(store, dry_run):
        ids = pl.DataFrame({"survivor": [s for s, _ in merges], "other": [o for _, o in merges]},
                           schema={"survivor": pl.Int64, "other": pl.Int64})
        missing = _missing(store, table, key, ids)
        if missing:
            raise CrmImportError(f"{file}: {entity} {missing[0]} is not in the CRM (merged or "
                                 "deleted since the review was written) — write a new review "
                                 "with `crm-import duplicates -o`")
        log: list[pl.DataFrame] = []
        if ids.height:
            _fill_fields(store, table, key, ids, log)
            _union_values(store, entity, ids, log)
            if entity == "company":
                _move_persons(store, ids, log)
            _move_members(store, entity, ids, log)
            _delete_others(store, table, key, ids, log)
        _remember(store, entity, kept, run_id)
        summary["changes"] = write_change_log(store, log, run_id)
        # (with its counts, as an import's: the review's rows read, the survivors updated)
        record_run(store, summary, settings_json=None, sha256=None,
                   started_at=started, finished_at=datetime.now(UTC))
        store.unregister_all()
    return summary


def _missing(store: CrmStore, table: str, key: str, ids: pl.DataFrame) -> list[int]:
    wanted = pl.concat([ids["survivor"], ids["other"]]).unique().sort()
    store.register("merge_ids", pl.DataFrame({"id": wanted}))
    there = set(store.query(f"SELECT {q.ident(key)} AS id FROM {q.ident(table)} WHERE "
                            f"{q.ident(key)} IN (SELECT id FROM merge_ids)")["id"].to_list())
    return [i for i in wanted.to_list() if i not in there]


def _fill_fields(store: CrmStore, table: str, key: str, ids: pl.DataFrame,
                 log: list[pl.DataFrame]) -> None:
    """The survivor's empty fields, from the other record (merge: its filled ones stay)."""
    store.register("merge_s", ids.select(pl.col("survivor").alias("id")))
    store.register("merge_o", ids.select(pl.col("other").alias("id")))
    survivors = store.query(q.rows_in(table, key, "merge_s"))
    others = store.query(q.rows_in(table, key, "merge_o"))
    fields = [c for c in survivors.columns if c != key]
    text = {c: pl.col(c).cast(pl.String) for c in fields}
    s = survivors.select(pl.col(key).alias("survivor"), *[e.alias(c) for c, e in text.items()])
    o = others.select(pl.col(key).alias("other"), *[e.alias(f"{c}__o") for c, e in text.items()])
    both = (ids.join(s, on="survivor", maintain_order="left")
            .join(o, on="other", maintain_order="left"))
    fills = pl.concat([
        both.filter((pl.col(c).is_null() | (pl.col(c) == "")) & pl.col(f"{c}__o").is_not_null()
                    & (pl.col(f"{c}__o") != ""))
        .select(pl.col("survivor").alias("entity_id"), pl.lit(c).alias("field"),
                pl.col(c).alias("old_value"), pl.col(f"{c}__o").alias("new_value"))
        for c in fields], how="vertical_relaxed")
    # (a survivor of two merges: its empty field takes the first other's value, once)
    fills = fills.unique(subset=["entity_id", "field"], keep="first", maintain_order=True)
    if fills.height:
        update_fields(store, table, key, fills)
        log.append(fills.select(pl.lit(table).alias("entity"), "entity_id",
                                pl.lit("update").alias("op"), "field", "old_value",
                                "new_value"))


def _union_values(store: CrmStore, owner: str, ids: pl.DataFrame,
                  log: list[pl.DataFrame]) -> None:
    """The other record's phones, e-mails, URLs and interests: those the survivor lacks are
    added to it (after its own), all of the other's go (logged, so undo puts them back)."""
    store.register("merge_pairs", ids)
    store.register("merge_o", ids.select(pl.col("other").alias("id")))
    for vt in VALUE_TABLES:
        storage = VALUE_STORAGE[vt]
        same = SAME_VALUE[vt]
        moved = store.query(
            f"SELECT v.*, p.survivor FROM {q.ident(vt)} v JOIN merge_pairs p ON "
            f"v.owner_id = p.other WHERE v.owner_kind = ? AND NOT EXISTS (SELECT 1 FROM "
            f"{q.ident(vt)} w WHERE w.owner_kind = v.owner_kind AND w.owner_id = p.survivor "
            f"AND {same('w')} = {same('v')}) ORDER BY v.owner_id, v.{q.ident(storage.id_column)}",
            [owner])
        gone = store.query(q.owned_rows(vt, "merge_o"), [owner])
        if moved.height:
            # one of a value the other record holds twice; ranks after the survivor's own
            moved = moved.unique(subset=["survivor", storage.value], keep="first",
                                 maintain_order=True).drop("rank", strict=False)
            new_ids = store.next_ids(vt, moved.height)
            staged = moved.with_columns(new_ids.alias(storage.id_column),
                                        pl.col("survivor").alias("owner_id"))
            if storage.rank:
                top = store.query(f"SELECT owner_id AS survivor, max(rank) AS top FROM "
                                  f"{q.ident(vt)} WHERE owner_kind = ? AND owner_id IN "
                                  "(SELECT survivor FROM merge_pairs) GROUP BY owner_id",
                                  [owner])
                staged = staged.join(top, on="survivor", how="left").with_columns(
                    (pl.col("top").fill_null(0) + pl.int_range(1, pl.len() + 1)
                     .over("survivor")).cast(pl.Int32).alias("rank"))
            staged = staged.select(gone.columns)
            store.register("merge_values", staged)
            store.execute(q.insert_select(vt, staged.columns, "merge_values"))
            key = storage.id_column
            log.append(staged.select(
                pl.lit(vt).alias("entity"), pl.col(key).alias("entity_id"),
                pl.lit("insert").alias("op"), pl.lit("").alias("field"),
                pl.lit(None, pl.String).alias("old_value"),
                pl.struct([c for c in staged.columns if c != key]).struct.json_encode()
                .alias("new_value")))
        if gone.height:
            log.append(_deleted(gone, vt))
            store.execute(q.delete_owned(vt, "merge_o"), [owner])


def _move_persons(store: CrmStore, ids: pl.DataFrame, log: list[pl.DataFrame]) -> None:
    """A merged company's persons work for the survivor."""
    store.register("merge_pairs", ids)
    moved = store.query(
        "SELECT p.person_id AS entity_id, CAST(p.company_id AS VARCHAR) AS old_value, "
        "CAST(m.survivor AS VARCHAR) AS new_value FROM person p JOIN merge_pairs m ON "
        "p.company_id = m.other")
    if moved.height:
        staged = moved.with_columns(pl.lit("company_id").alias("field"))
        update_fields(store, "person", "person_id", staged)
        log.append(staged.select(pl.lit("person").alias("entity"), "entity_id",
                                 pl.lit("update").alias("op"), "field", "old_value",
                                 "new_value"))


def _move_members(store: CrmStore, entity: str, ids: pl.DataFrame,
                  log: list[pl.DataFrame]) -> None:
    """The other record's places in selections: the survivor's now (where it has none)."""
    store.register("merge_pairs", ids)
    store.register("merge_o", ids.select(pl.col("other").alias("id")))
    places = store.query(q.members_of("merge_o"), [entity])
    if places.height == 0:
        return
    added = store.query(
        "SELECT DISTINCT m.selection_id, m.entity, p.survivor AS entity_id FROM selection_member m "
        "JOIN merge_pairs p ON m.entity_id = p.other WHERE m.entity = ? AND NOT EXISTS (SELECT 1 "
        "FROM selection_member s WHERE s.selection_id = m.selection_id AND s.entity = m.entity "
        "AND s.entity_id = p.survivor)", [entity])
    log.append(_deleted(places, "selection_member"))
    store.execute(q.delete_members("merge_o"), [entity])
    if added.height:
        store.register("merge_members", added)
        store.execute(q.insert_select("selection_member", added.columns, "merge_members"))
        log.append(added.select(
            pl.lit("selection_member").alias("entity"), pl.col("entity_id").cast(pl.Int64),
            pl.lit("insert").alias("op"), pl.lit("").alias("field"),
            pl.lit(None, pl.String).alias("old_value"),
            pl.struct(pl.all()).struct.json_encode().alias("new_value")))


def _delete_others(store: CrmStore, table: str, key: str, ids: pl.DataFrame,
                   log: list[pl.DataFrame]) -> None:
    store.register("merge_o", ids.select(pl.col("other").alias("id")))
    gone = store.query(q.rows_in(table, key, "merge_o"))
    log.append(_deleted(gone, table))
    store.execute(q.delete_ids(table, key, "merge_o"))


def _deleted(rows: pl.DataFrame, table: str) -> pl.DataFrame:
    from transforms.selection import _deleted as deleted

    return deleted(rows, table)


def _remember(store: CrmStore, entity: str, kept: pl.DataFrame, run_id: str) -> None:
    """Pairs a person looked at and kept apart: not listed or suggested again."""
    if kept.height == 0:
        return
    rows = kept.select(pl.lit(entity).alias("entity"),
                       pl.min_horizontal("a", "b").alias("a"),
                       pl.max_horizontal("a", "b").alias("b"),
                       pl.lit("keep both").alias("decision"), pl.lit(run_id).alias("run_id")
                       ).unique(subset=["a", "b"])
    store.register("merge_kept", rows)
    store.execute("DELETE FROM duplicate_decision WHERE entity = ? AND EXISTS (SELECT 1 FROM "
                  "merge_kept k WHERE k.a = duplicate_decision.a AND k.b = "
                  "duplicate_decision.b)", [entity])
    store.execute(q.insert_select("duplicate_decision", rows.columns, "merge_kept"))

