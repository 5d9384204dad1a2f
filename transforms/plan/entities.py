"""Rows into entities, entities into decisions: the steps every entity kind (company,
person, product) goes through (SPEC §3 "Matching rules", "Actions, field by field")."""

from __future__ import annotations

import polars as pl

from contracts.keys import MATCH_KEYS
from transforms import normalise as nz
from transforms.plan.model import CHANGE_SCHEMA
from transforms.validate import WARNING_SCHEMA, issues


def group_entities(rows: pl.DataFrame, columns: list[str], key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows sharing `group` become one entity; the first non-empty value of each field wins.

    Returns (entities: group, first_row, key, columns…; conflicts: group, first_row, field,
    values) for fields where rows of one entity disagree. Entities of one row (most persons)
    are taken as they are; only groups of several rows are aggregated and checked.
    """
    ordered = rows.sort("source_row").with_columns(pl.len().over("group").alias("_size"))
    single = ordered.filter(pl.col("_size") == 1)
    multi = ordered.filter(pl.col("_size") > 1)
    entities = pl.concat([
        single.select("group", pl.col("source_row").alias("first_row"), pl.col(key).alias("key"),
                      *columns),
        multi.group_by("group", maintain_order=True).agg(
            pl.col("source_row").min().alias("first_row"),
            pl.col(key).drop_nulls().first().alias("key"),
            *[pl.col(c).drop_nulls().first() for c in columns]),
    ], how="vertical_relaxed").sort("first_row")
    empty = pl.DataFrame(schema={"group": pl.String, "first_row": pl.Int64, "field": pl.String,
                                 "values": pl.List(pl.String)})
    if not columns or multi.height == 0:
        return entities, empty
    # fields whose values differ at all (cheap), then of those, the ones whose values differ
    # by more than their spelling ("ACME  AS" / "Acme AS" are one value, not a conflict)
    differ = (multi.group_by("group").agg(pl.col(c).drop_nulls().n_unique() for c in columns)
              .unpivot(index="group", variable_name="field", value_name="_n")
              .filter(pl.col("_n") > 1).drop("_n"))
    if differ.height == 0:
        return entities, empty
    values = (
        multi.join(differ.select("group").unique(), on="group", how="semi")
        .select("group", "source_row", *[pl.col(c).cast(pl.String) for c in columns])
        .unpivot(index=["group", "source_row"], variable_name="field", value_name="value")
        .join(differ, on=["group", "field"], how="semi")
        .drop_nulls("value")
    )
    # a value is compared as its field's match key compares it: org and VAT numbers by
    # their digits ("923 609 016" is 923609016), the rest by their text
    digits = [key.columns[0] for key in MATCH_KEYS if key.normaliser == "digits"]
    values = values.with_columns(
        pl.when(pl.col("field").is_in(digits)).then(nz.digits_key(pl.col("value")))
        .otherwise(nz.text_key(pl.col("value"))).alias("_k"))
    flagged = (values.group_by("group", "field")
               .agg(pl.col("_k").drop_nulls().n_unique().alias("_n"))
               .filter(pl.col("_n") > 1).drop("_n"))
    if flagged.height == 0:
        return entities, empty
    # each value with the first row that gives it: "row 2: 923609016 | row 5: 923609017"
    conflicts = (
        values.join(flagged, on=["group", "field"], how="semi")
        .sort("source_row").unique(["group", "field", "_k"], keep="first", maintain_order=True)
        .group_by("group", "field", maintain_order=True)
        .agg(pl.col("source_row").min().alias("first_row"),
             (pl.lit("row ") + pl.col("source_row").cast(pl.String) + pl.lit(": ")
              + pl.col("value")).alias("values"))
    )
    return entities, conflicts.select(list(empty.columns))


def decide(entities: pl.DataFrame, pairs: pl.DataFrame, action: str) -> pl.DataFrame:
    """new / matched / ambiguous per entity, from its candidate CRM ids."""
    per_group = pairs.group_by("group").agg(
        pl.col("crm_id").sort().alias("candidates"), pl.len().alias("n"))
    out = entities.join(per_group, on="group", how="left").with_columns(pl.col("n").fill_null(0))
    matched_id = pl.col("candidates").list.first()
    return out.with_columns(
        pl.when(pl.col("n") > 1).then(pl.lit("ambiguous"))
        .when((pl.col("n") == 0) | pl.lit(action == "add")).then(pl.lit("new"))
        .when(pl.lit(action == "skip")).then(pl.lit("skipped"))
        .otherwise(pl.lit("matched")).alias("outcome"),
        pl.when((pl.col("n") == 1) & pl.lit(action != "add")).then(matched_id)
        .otherwise(None).cast(pl.Int64).alias("crm_id"),
        pl.when(pl.col("n") > 1)
        .then(pl.lit("matches several CRM records: ")
              + pl.col("candidates").cast(pl.List(pl.String)).list.join(", "))
        .when((pl.col("n") == 1) & pl.lit(action == "skip"))
        .then(pl.lit("matched; action is skip"))
        .otherwise(None).alias("reason"),
    )


def field_changes(decisions: pl.DataFrame, crm: pl.DataFrame, columns: dict[str, str], *,
                  action: str, protect: tuple[str, ...]) -> pl.DataFrame:
    """Field updates of matched records under merge/replace (SPEC §3 "Actions, field by field").

    decisions: group, crm_id, canonical columns; crm: crm_id + CRM columns (text).
    An empty import cell changes nothing; protected fields keep their CRM value.
    """
    usable = {c: col for c, col in columns.items()
              if c in decisions.columns and col not in protect and col in crm.columns}
    if action not in ("merge", "replace") or not usable or decisions.height == 0:
        return pl.DataFrame(schema=CHANGE_SCHEMA)
    # the file's and the CRM's values side by side (one join on the id), then a field at a
    # time where the file has a value (an empty cell changes nothing)
    wide = (decisions.lazy().select("group", "crm_id",
                                    *[pl.col(c).alias(f"+{col}") for c, col in usable.items()])
            .join(crm.lazy().select("crm_id", *[pl.col(col).cast(pl.String).alias(f"-{col}")
                                                for col in usable.values()]),
                  on="crm_id", how="left"))
    both = pl.concat([
        wide.select("group", "crm_id", pl.lit(col).alias("field"),
                    pl.col(f"+{col}").alias("import"), pl.col(f"-{col}").alias("old_value"))
        .filter(pl.col("import").is_not_null())
        for col in usable.values()])
    old_empty = pl.col("old_value").is_null() | (pl.col("old_value").str.strip_chars() == "")
    new = (pl.when(old_empty).then(pl.col("import")).otherwise(pl.col("old_value"))
           if action == "merge" else pl.col("import"))
    return (both.with_columns(new.alias("new_value"))
            .filter(pl.col("new_value").ne_missing(pl.col("old_value")))
            .select("group", "crm_id", "field", "old_value", "new_value",
                    pl.lit(None, pl.String).alias("target_group"))
            .collect())


def one_actor_per_record(dec: pl.DataFrame) -> pl.DataFrame:
    """Two ERP actors found as the same CRM record (by name, say) are not merged into it:
    both are ambiguous, and say why."""
    matched = pl.col("outcome").is_in(["matched", "skipped"])
    shared = pl.col("crm_id").is_not_null() & matched & (pl.len().over("crm_id") > 1)
    return dec.with_columns(
        pl.when(shared).then(pl.lit("ambiguous")).otherwise(pl.col("outcome")).alias("outcome"),
        pl.when(shared).then(pl.lit("several ERP actors match CRM record ")
                             + pl.col("crm_id").cast(pl.String))
        .otherwise(pl.col("reason")).alias("reason"),
        pl.when(shared).then(None).otherwise(pl.col("crm_id")).alias("crm_id"))


def settle(dec: pl.DataFrame, owner_kind: str, changes: pl.DataFrame, inserts: pl.DataFrame,
            deletes: pl.DataFrame) -> pl.DataFrame:
    """matched → updated (a field or a value changed) or unchanged."""
    touched = pl.concat([
        changes.select("group"),
        inserts.filter(pl.col("owner_kind") == owner_kind).select("group"),
        deletes.filter(pl.col("owner_kind") == owner_kind).select("group"),
    ]).unique()
    return (dec.join(touched.with_columns(pl.lit(True).alias("_touched")), on="group", how="left")
            .with_columns(pl.when(pl.col("outcome") != "matched").then(pl.col("outcome"))
                          .when(pl.col("_touched").fill_null(False)).then(pl.lit("updated"))
                          .otherwise(pl.lit("unchanged")).alias("outcome"))
            .drop("_touched"))


def no_key_warnings(rows: pl.DataFrame, key: str, what: str, headers: dict[str, str],
                     field: str) -> pl.LazyFrame:
    return issues(rows.filter(pl.col(key).is_null()), header=headers.get(field, field),
                  field=field, value=pl.lit(None), code="no_match_key",
                  reason=f"empty match key ({what}): created as new, and importing it again "
                         "creates it again")


def conflict_warnings(conflicts: pl.DataFrame, headers: dict[str, str]) -> pl.LazyFrame:
    if conflicts.height == 0:
        return pl.DataFrame(schema=WARNING_SCHEMA).lazy()
    return conflicts.lazy().select(
        pl.col("first_row").alias("source_row"),
        pl.col("field").replace_strict(headers, default=pl.col("field")).alias("column"),
        pl.col("field"),
        pl.col("values").list.join(" | ").alias("value"),
        # (the rows, and the column, named: values are personal data, row numbers are not)
        (pl.lit("rows ")
         + pl.col("values").list.eval(pl.element().str.extract(r"^row (\d+):"))
         .list.join(", ") + pl.lit(" of one record disagree on ")
         + pl.col("field").replace_strict(headers, default=pl.col("field"))
         + pl.lit("; the first row's value is used")).alias("reason"),
        pl.lit("conflict").alias("code"),
    )
