"""List values (category, business, position, interest, …) in the CRM's spelling; values
a list lacks follow `[lists]` (SPEC §3 "Lists and multi-valued fields")."""

from __future__ import annotations

import polars as pl

from transforms import normalise as nz


def resolve_lists(frame: pl.DataFrame, list_items: pl.DataFrame, column: str, list_name: str,
                  policy: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Put list values in the CRM's spelling; values the list lacks follow the policy.

    Returns the frame and the new list items (list_name, value) that `add` creates.
    """
    items = (list_items.filter(pl.col("list_name") == list_name)
             .select(nz.text_key(pl.col("value")).alias("_k"), pl.col("value").alias("_crm"),
                     "is_default"))
    default = items.filter(pl.col("is_default"))["_crm"].first() if items.height else None
    known = items.unique("_k", keep="first").select("_k", "_crm")
    out = (frame.with_columns(nz.text_key(pl.col(column)).alias("_k"))
           .join(known, on="_k", how="left", maintain_order="left"))
    missing = pl.col(column).is_not_null() & pl.col("_crm").is_null()
    new_items = (out.filter(missing).unique("_k", keep="first", maintain_order=True)
                 .select(pl.lit(list_name).alias("list_name"), pl.col(column).alias("value"), "_k")
                 if policy == "add"
                 else pl.DataFrame(schema={"list_name": pl.String, "value": pl.String, "_k": pl.String}))
    # a value new to the list takes its first spelling in the file ("Golf", later "golf")
    out = out.join(new_items.select("_k", pl.col("value").alias("_first")), on="_k", how="left",
                   maintain_order="left")
    new_items = new_items.drop("_k")
    fallback = {"add": pl.col("_first"), "default": pl.lit(default, pl.String),
                "blank": pl.lit(None, pl.String)}[policy]
    out = out.with_columns(
        pl.when(pl.col("_crm").is_not_null()).then(pl.col("_crm"))
        .when(missing).then(fallback).otherwise(pl.col(column)).alias(column)
    ).drop("_k", "_crm", "_first")
    return out, new_items
