"""Match the file's keys against the CRM's: set-based joins over frames, no I/O.

The CRM's keys come from the snapshot (`transforms.snapshot`), normalised with the same
expressions as the file's (`transforms.keys`), so both sides compare on identical keys.
"""

from __future__ import annotations

import polars as pl

PAIRS_SCHEMA = pl.Schema({"group": pl.String, "crm_id": pl.Int64})


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
                erp_key: str, key: str, scope: str | None = None
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ERP key first, then the settings' key (SPEC §5 "ERP actors").

    An actor whose ERP key the CRM knows gets the key "erp:<key>" (global scope); any other
    keeps its settings key, which is compared only with CRM records not linked to this ERP
    (a record linked to another actor is that actor's, whatever its name).
    """
    known = pl.col(erp_key).is_in(linked["erp_key"].implode()).fill_null(False)
    frame = frame.with_columns(
        pl.when(known).then(pl.lit("erp:") + pl.col(erp_key)).otherwise(pl.col(key)).alias(key),
        *([pl.when(known).then(pl.lit("any")).otherwise(pl.col(scope)).alias(scope)]
          if scope else []))
    erp_side = linked.select("crm_id", (pl.lit("erp:") + pl.col("erp_key")).alias("key"),
                             pl.lit("any").alias("scope"))
    others = crm_keys.filter(~pl.col("crm_id").is_in(linked["crm_id"].implode()))
    erp_side = erp_side.select(crm_keys.columns).cast(crm_keys.schema)
    return frame, pl.concat([erp_side, others], how="vertical_relaxed")
