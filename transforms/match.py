"""Match the file's keys against the CRM's: set-based joins over frames, no I/O.

The CRM's keys come from the snapshot (`transforms.snapshot`), normalised with the same
expressions as the file's (`transforms.keys`), so both sides compare on identical keys.
"""

from __future__ import annotations

import polars as pl

from transforms.keys import SEP

PAIRS_SCHEMA = pl.Schema({"group": pl.String, "crm_id": pl.Int64})
ERP = "erp"  # the key an ERP actor is found by first (its ERP key), before the chain


def find_candidates(file_keys: pl.DataFrame, crm_keys: pl.DataFrame) -> pl.DataFrame:
    """Every (group, crm_id) pair whose keys (and scopes) are equal: one join.

    file_keys: group, scope, key (unique per group); crm_keys: crm_id, scope, key.
    """
    if "scope" not in crm_keys.columns:
        crm_keys = crm_keys.with_columns(pl.lit("any").alias("scope"))
    pairs = (file_keys.lazy().select("group", "scope", "key").drop_nulls("key")
             .join(crm_keys.lazy().select("crm_id", "scope", "key"), on=["key", "scope"])
             .select("group", pl.col("crm_id").cast(pl.Int64)).unique())
    return pairs.collect().sort("group", "crm_id")


def erp_cascade(frame: pl.DataFrame, crm_keys: pl.DataFrame, linked: pl.DataFrame, *,
                erp_key: str, key: str, scope: str | None = None, rest: tuple[str, ...] = ()
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ERP key first, then the settings' key (SPEC §5 "ERP actors").

    An actor whose ERP key the CRM knows gets the key "erp:<key>" (global scope); any other
    keeps its settings key, which is compared only with CRM records not linked to this ERP
    (a record linked to another actor is that actor's, whatever its name).
    """
    known = pl.col(erp_key).is_in(linked["erp_key"].implode()).fill_null(False)
    frame = frame.with_columns(
        pl.when(known).then(pl.lit(ERP + SEP) + pl.col(erp_key)).otherwise(pl.col(key)).alias(key),
        *([pl.when(known).then(pl.lit("any")).otherwise(pl.col(scope)).alias(scope)]
          if scope else []),
        # (the chain's other keys: an actor the CRM knows by its ERP key is found by that alone)
        *[pl.when(known).then(None).otherwise(pl.col(c)).alias(c) for c in rest])
    erp_side = linked.select("crm_id", (pl.lit(ERP + SEP) + pl.col("erp_key")).alias("key"),
                             pl.lit("any").alias("scope"))
    others = crm_keys.filter(~pl.col("crm_id").is_in(linked["crm_id"].implode()))
    erp_side = erp_side.select(crm_keys.columns).cast(crm_keys.schema)
    return frame, pl.concat([erp_side, others], how="vertical_relaxed")


def first_found(file_keys: pl.DataFrame, crm_keys: pl.DataFrame, chain: tuple[str, ...], *,
                erp: bool = False, apart: pl.DataFrame | None = None) -> pl.DataFrame:
    """The CRM records each entity is found as under an ordered chain of keys (SPEC §3): the
    first key of the chain for which the entity has a value that finds a record; all the
    records that key finds (several: ambiguous, never a fall-through to the next key).

    file_keys: group, scope, key (named keys, `keys.named`), level (the key's place in the
    chain; several keys per group); crm_keys: crm_id, scope, key (named). `erp`: keys named
    "erp" (`erp_cascade`) come before the chain.

    `apart` (crm_id, apart): the CRM records' value that tells records of one key value
    apart (`MatchKey.apart`: a person's birth date), for the file keys marked `told` (with
    their own `apart`). A record whose value differs from the key's (both there) is not
    found by it; of those it finds, the ones whose value is the key's (or, both, none) come
    before those where one side has none — so a file imported again finds each record it
    made. Returns group, crm_id, match_key, key_value."""
    if "scope" not in crm_keys.columns:
        crm_keys = crm_keys.with_columns(pl.lit("any").alias("scope"))
    names = (ERP, *chain) if erp else chain
    first = -1 if erp else 0
    told = apart is not None and "told" in file_keys.columns
    found = (file_keys.lazy().select("group", "scope", "key", pl.col("level").cast(pl.Int8),
                                     *(["told", "apart"] if told else []))
             .drop_nulls("key").unique()
             .join(crm_keys.lazy().select("crm_id", "scope", "key"), on=["key", "scope"]))
    if erp:
        found = found.with_columns(pl.when(pl.col("key").str.starts_with(ERP + SEP))
                                   .then(pl.lit(-1, pl.Int8)).otherwise(pl.col("level"))
                                   .alias("level"))
    if told:
        assert apart is not None
        # (an ERP key is the actor itself: nothing tells it apart)
        told_here = pl.col("told") & (pl.col("level") >= 0)
        found = (found.join(apart.lazy().select("crm_id", pl.col("apart").alias("_their")),
                            on="crm_id", how="left")
                 .filter(~(told_here & (pl.col("apart") != pl.col("_their"))).fill_null(False))
                 .with_columns((told_here & pl.col("apart").eq_missing(pl.col("_their")))
                               .alias("_same")))
    if len(names) > 1:  # (one key: every pair is at its level; nothing to choose)
        found = (found.filter(pl.col("level") == pl.col("level").min().over("group"))
                 .sort("group", "crm_id", "key"))
    if told:
        found = found.filter(pl.col("_same") | ~pl.col("_same").any().over("group"))
    # the key's name off the front of its value: "orgnr\x1f923609016" → orgnr, 923609016
    name = pl.col("level").replace_strict({i: n for i, n in enumerate(names, start=first)},
                                          return_dtype=pl.String)
    start = pl.col("level").replace_strict({i: len(n) + 1 for i, n in enumerate(names, start=first)},
                                           return_dtype=pl.Int64)
    return (found.unique(["group", "crm_id"], keep="first", maintain_order=len(names) > 1)
            .select("group", pl.col("crm_id").cast(pl.Int64), name.alias("match_key"),
                    pl.col("key").str.slice(start).alias("key_value"))
            .collect())


def chain_groups(rows: pl.DataFrame, levels: list[str]) -> pl.Series:
    """The entity of each row under an ordered chain of keys (SPEC §3): `levels` are the
    rows' named keys, first key first (null: the row has no value for it).

    Rows whose first key is the chain's first are one entity per value. Going down the
    chain, rows whose first value is at key i join the entity of the rows before them
    (those with an earlier key) that hold the same value for key i — when exactly one
    entity holds it; with none, or with several (the file itself cannot say which), the
    rows sharing that value are an entity of their own. So a higher-priority key that
    disagrees always keeps rows apart, every row belongs to one entity, and the result
    depends only on the rows' values, never on their order.

    Returns the entity (a named key value) per row, null for a row without any key."""
    first = pl.coalesce([pl.when(pl.col(c).is_not_null()).then(pl.lit(i))
                         for i, c in enumerate(levels)]) if len(levels) > 1 else pl.lit(0)
    frame = rows.select(pl.int_range(pl.len()).alias("_i"), *levels).with_columns(
        first.alias("_level"))
    if len(levels) == 1:
        return frame.select(pl.col(levels[0]).alias("group"))["group"]
    done = frame.filter(pl.col("_level") == 0).select(
        "_i", *levels, pl.col(levels[0]).alias("group"))
    for i, column in enumerate(levels[1:], start=1):
        here = frame.filter(pl.col("_level") == i)
        if here.height == 0:
            continue
        holders = (done.filter(pl.col(column).is_not_null())
                   .group_by(column).agg(pl.col("group").unique().alias("_groups")))
        joined = here.join(holders, on=column, how="left").with_columns(
            pl.when(pl.col("_groups").list.len() == 1).then(pl.col("_groups").list.first())
            .otherwise(pl.col(column)).alias("group"))
        done = pl.concat([done, joined.select("_i", *levels, "group")])
    out = frame.select("_i").join(done.select("_i", "group"), on="_i", how="left")
    return out.sort("_i")["group"]
